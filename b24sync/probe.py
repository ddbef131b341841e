"""Can this machine reach a server, and does its TLS certificate verify? One connection, no retries.

``b24sync doctor`` asks this before any API call, so "unreachable" is told apart from "refused":
the host name does not resolve, nothing listens on the port, a firewall swallows the connection,
or the TLS handshake fails — and then why (self-signed, expired, issued for another name,
unknown authority). The certificate is verified against the same CA bundle ``requests`` uses
(``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE``, else certifi's), so the verdict is the clients' own.
Only scheme, host and port are ever used: a webhook URL's token stays out of every message.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import requests.certs
import requests.utils

# why a probe failed (the doctor turns each into its message and fix)
DNS, REFUSED, TIMEOUT, NETWORK = "dns", "refused", "timeout", "network"
TLS_UNTRUSTED, TLS_EXPIRED, TLS_HOSTNAME, TLS_OTHER = "tls_untrusted", "tls_expired", "tls_hostname", "tls_other"


@dataclass
class Probe:
    """The outcome of one connection to ``host:port`` (and its TLS handshake for https)."""

    scheme: str
    host: str
    port: int
    failure: str | None = None  # one of the constants above; None: connected (and verified)
    reason: str = ""
    seconds: float = 0.0
    proxied: bool = False  # the clients go through a proxy from the environment: not probed directly
    tls_version: str = ""
    not_after: datetime | None = None  # the certificate's expiry
    issuer: str = ""

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host.strip("[]")).is_loopback
        except ValueError:
            return False


def ca_bundle() -> str:
    """The CA file ``requests`` verifies against."""
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or requests.certs.where()


def probe(url: str, timeout: float = 5.0) -> Probe:
    """Connect to the server of ``url`` once (TCP, then TLS for https) and say what happened."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    port = parts.port or (443 if scheme == "https" else 80)
    result = Probe(scheme, host, port)
    if requests.utils.get_environ_proxies(url):
        result.proxied = True
        return result
    started = time.monotonic()
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except socket.gaierror as exc:
        result.failure, result.reason = DNS, exc.strerror or str(exc)
    except ConnectionRefusedError as exc:
        result.failure, result.reason = REFUSED, exc.strerror or str(exc)
    except TimeoutError:
        result.failure, result.reason = TIMEOUT, f"{timeout:g} s"
    except OSError as exc:
        result.failure, result.reason = NETWORK, exc.strerror or str(exc)
    else:
        with sock:
            if scheme == "https":
                _handshake(sock, result, timeout)
    result.seconds = time.monotonic() - started
    return result


def _handshake(sock: socket.socket, result: Probe, timeout: float) -> None:
    context = ssl.create_default_context(cafile=ca_bundle())
    sock.settimeout(timeout)
    try:
        with context.wrap_socket(sock, server_hostname=result.host) as tls:
            result.tls_version = tls.version() or ""
            cert = tls.getpeercert() or {}
    except ssl.SSLCertVerificationError as exc:
        message = exc.verify_message or exc.reason or str(exc)
        code = exc.verify_code
        if code == 10 or "expired" in message:  # X509_V_ERR_CERT_HAS_EXPIRED
            result.failure = TLS_EXPIRED
        elif code == 62 or "hostname" in message.lower() or "IP address mismatch" in message:
            result.failure = TLS_HOSTNAME  # X509_V_ERR_HOSTNAME_MISMATCH / IP_ADDRESS_MISMATCH
        else:  # self-signed, unknown issuer, incomplete chain
            result.failure = TLS_UNTRUSTED
        result.reason = message
        return
    except (ssl.SSLError, OSError) as exc:
        result.failure, result.reason = TLS_OTHER, getattr(exc, "reason", None) or str(exc)
        return
    if not_after := cert.get("notAfter"):
        result.not_after = datetime.fromtimestamp(ssl.cert_time_to_seconds(str(not_after)), UTC)
    issuer = dict(pair[0] for pair in cert.get("issuer", ()) if pair)
    result.issuer = str(issuer.get("organizationName") or issuer.get("commonName") or "")
