"""The exception hierarchy of the library; each class carries the exit code the CLI maps it to.

    B24SyncError
    ├── ConfigError            78: a config key, file or secret is missing or wrong
    ├── LockHeld               75: another run holds the lock
    └── RemoteError             1: a remote system answered with an error
        ├── TransportError         the request failed below HTTP (refused, reset, timed out)
        └── RemoteUnavailable  69: retries or the retry budget ran out

Remote-specific subclasses live beside their clients (``sources/bitrix24/errors.py``).
Messages never contain secrets: they are built from redacted text only.
"""

from __future__ import annotations

from b24sync.exitcodes import ExitCode


class B24SyncError(Exception):
    """Base of every error b24sync raises on purpose."""

    exit_code: ExitCode = ExitCode.ERROR


class ConfigError(B24SyncError):
    """The configuration cannot be used; the message names the key and the file."""

    exit_code = ExitCode.CONFIG


class LockHeld(B24SyncError):
    """Another b24sync run holds the state lock."""

    exit_code = ExitCode.LOCKED


class RemoteError(B24SyncError):
    """A remote API answered with an error, or could not be reached."""

    retryable: bool = False


class TransportError(RemoteError):
    """The HTTP exchange failed: connection refused or reset, timeout, unreadable body.

    ``sent`` tells whether the request may have reached the server: a write that may have been
    sent is in doubt and must be looked up, never blindly re-sent.
    """

    retryable = True

    def __init__(self, message: str, *, sent: bool) -> None:
        super().__init__(message)
        self.sent = sent


class RemoteUnavailable(RemoteError):
    """Retries are exhausted: the remote side is down or keeps failing."""

    exit_code = ExitCode.UNAVAILABLE
