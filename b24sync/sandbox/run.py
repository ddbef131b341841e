"""Starting the sandbox: seeded emulators on loopback, and a config that points at them.

This is the library behind ``b24sync sandbox`` and ``b24sync demo`` and the test fixtures: one
call builds the seeded portal, starts its emulator and returns the facts a user or a test needs
(URLs, credentials, the planted anomalies). ``write_config`` leaves a ready configuration with
its secrets in an owner-only file beside it, so ``b24sync --config PATH …`` needs nothing else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from b24sync.sandbox.bitrix24 import Bitrix24Emulator, Limits, Portal
from b24sync.sandbox.seed import Planted, SeedSpec, bitrix24_seed, generate_parties

DEFAULT_SIZE = 200


@dataclass
class Sandbox:
    """Running emulators and what was planted in them."""

    bitrix24: Bitrix24Emulator
    portal: Portal
    planted: list[Planted] = field(default_factory=list)
    limits: Limits | None = None

    def info(self) -> dict[str, str]:
        """The ``KEY=VALUE`` facts printed by ``b24sync sandbox``, in a stable order."""
        return {
            "BITRIX24_WEBHOOK": self.bitrix24.webhook_url,
            "BITRIX24_APP_TOKEN": self.bitrix24.app_token,
            "BITRIX24_LIMITS": "off" if self.limits is None else
            f"{self.limits.drain_per_second:g}/s burst {self.limits.bucket_size}",
        }

    def write_config(self, path: str | Path) -> Path:
        """Write a config for this sandbox, secrets in ``<name>.secrets`` beside it (both 0600)."""
        config_path = Path(path).resolve()
        config_path.parent.mkdir(parents=True, exist_ok=True)
        secrets_path = config_path.with_suffix(".secrets")
        _write_private(secrets_path, f"B24SYNC_BITRIX24_WEBHOOK={self.bitrix24.webhook_url}\n")
        rate = self.limits.drain_per_second if self.limits else 2.0
        burst = self.limits.bucket_size if self.limits else 50
        _write_private(config_path, CONFIG_TEMPLATE.format(
            instance="sandbox", state=f"{config_path.stem}-state.db", secrets=secrets_path.name,
            rate=rate, burst=burst))
        return config_path

    def stop(self) -> None:
        self.bitrix24.stop()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


CONFIG_TEMPLATE = """\
# b24sync configuration for the local sandbox (written by `b24sync sandbox --write-config`).
instance = "{instance}"

[state]
path = "{state}"

[secrets]
# KEY=VALUE file, readable by its owner only; holds B24SYNC_BITRIX24_WEBHOOK.
file = "{secrets}"

[bitrix24]
requests_per_second = {rate}
burst = {burst}
"""


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, 0o600)


def start_sandbox(
    *,
    size: int = DEFAULT_SIZE,
    seed: int = 0,
    limits: bool = True,
    events_url: str | None = None,
    bitrix24_port: int = 0,
    host: str = "127.0.0.1",
    spec: SeedSpec | None = None,
) -> Sandbox:
    """Generate the seeded data, load it and start the emulator(s) on loopback."""
    spec = spec or SeedSpec.from_size(size)
    parties = generate_parties(spec, seed)
    portal_seed, planted = bitrix24_seed(parties, spec, seed)
    portal = Portal(portal_seed, rng_seed=seed)
    limit_config = Limits() if limits else None
    emulator = Bitrix24Emulator(portal.registry, limits=limit_config, events_url=events_url, host=host,
                                port=bitrix24_port).start()
    return Sandbox(bitrix24=emulator, portal=portal, planted=planted, limits=limit_config)
