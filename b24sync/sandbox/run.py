"""Starting the sandbox: seeded emulators on loopback, and a config that points at them.

This is the library behind ``b24sync sandbox`` and ``b24sync demo`` and the test fixtures: one
call builds the seeded portal and 1C base from one world of parties (so they overlap as real
systems do), starts both emulators and returns the facts a user or a test needs
(URLs, credentials, the planted anomalies). ``write_config`` leaves a ready configuration with
its secrets in an owner-only file beside it, so ``b24sync --config PATH …`` needs nothing else.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Any

from b24sync.sandbox.bitrix24 import Bitrix24Emulator, Limits, Portal
from b24sync.sandbox.bitrix24.api import MOSCOW
from b24sync.sandbox.bitrix24.methods.reference import CUSTOM_STAGE_ID
from b24sync.sandbox.latency import CostModel
from b24sync.sandbox.onec import OneCEmulator, OneCStore
from b24sync.sandbox.onec.hs import base_zone, make_hs_app
from b24sync.sandbox.onec.seed import ORGANIZATIONS, load_onec
from b24sync.sandbox.seed import Planted, SeedSpec, bitrix24_seed, generate_parties

DEFAULT_SIZE = 200


@dataclass
class Sandbox:
    """Running emulators and what was planted in them."""

    bitrix24: Bitrix24Emulator
    portal: Portal
    onec: OneCEmulator
    store: OneCStore
    planted: list[Planted] = field(default_factory=list)
    onec_planted: list[Planted] = field(default_factory=list)
    limits: Limits | None = None
    costs: CostModel | None = None

    def info(self) -> dict[str, str]:
        """The ``KEY=VALUE`` facts printed by ``b24sync sandbox``, in a stable order."""
        return {
            "BITRIX24_WEBHOOK": self.bitrix24.webhook_url,
            "BITRIX24_APP_TOKEN": self.bitrix24.app_token,
            "BITRIX24_LIMITS": "off" if self.limits is None else
            f"{self.limits.drain_per_second:g}/s burst {self.limits.bucket_size}",
            "ONEC_ODATA": self.onec.odata_url,
            "ONEC_HS": self.onec.hs_url,
            "ONEC_USER": self.onec.user,
            "ONEC_PASSWORD": self.onec.password,
            "LATENCY": "off" if self.costs is None else self.costs.describe(),
        }

    def write_config(self, path: str | Path) -> Path:
        """Write a config for this sandbox, secrets in ``<name>.secrets`` beside it (both 0600)."""
        config_path = Path(path).resolve()
        config_path.parent.mkdir(parents=True, exist_ok=True)
        secrets_path = config_path.with_suffix(".secrets")
        _write_private(secrets_path, f"B24SYNC_BITRIX24_WEBHOOK={self.bitrix24.webhook_url}\n"
                                     f"B24SYNC_ONEC_PASSWORD={self.onec.password}\n"
                                     f"B24SYNC_APP_TOKEN={self.bitrix24.app_token}\n")
        rate = self.limits.drain_per_second if self.limits else 2.0
        burst = self.limits.bucket_size if self.limits else 50
        _write_private(config_path, CONFIG_TEMPLATE.format(
            instance="sandbox", state=f"{config_path.stem}-state.db", secrets=secrets_path.name,
            rate=rate, burst=burst, odata=self.onec.odata_url, user=self.onec.user,
            timezone=base_zone(self.store), organization=ORGANIZATIONS[0]["ИНН"]))
        return config_path

    def stop(self) -> None:
        self.bitrix24.stop()
        self.onec.stop()

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
# KEY=VALUE file, readable by its owner only; holds B24SYNC_BITRIX24_WEBHOOK and B24SYNC_ONEC_PASSWORD.
file = "{secrets}"

[bitrix24]
requests_per_second = {rate}
burst = {burst}

[onec]
odata_url = "{odata}"
user = "{user}"
timezone = "{timezone}"

[deals]
# Deals at this stage become customer orders; the sandbox base sells through two organizations.
trigger_stages = ["Договор подписан"]
organization = "{organization}"

[statuses.map]
# 1C order status = the deal stage it moves the deal to (id or name in the deal's pipeline).
"КОтгрузке" = "Финальный счёт"
"Закрыт" = "Сделка успешна"
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
    onec_port: int = 0,
    host: str = "127.0.0.1",
    spec: SeedSpec | None = None,
    tz: tzinfo = MOSCOW,
    clock: Callable[[], float] = time.time,
    onec_tz: tzinfo | None = None,
    onec_clock: Callable[[], float] = time.time,
    realistic_latency: bool | CostModel = False,
) -> Sandbox:
    """Generate one seeded world, project it into a portal and a 1C base, start both on loopback.

    ``tz`` is the portal's time zone (dates are rendered with its offset of the moment, e.g. a
    ``ZoneInfo`` with summer time) and ``clock`` the portal's own clock (epoch seconds: a skewed
    or fake one stamps ``DATE_MODIFY`` and ``time``); ``onec_tz`` / ``onec_clock`` are the 1C
    server's zone (default UTC+3) and clock, in which it writes its zone-less dates.
    ``realistic_latency`` models the servers' own time (:mod:`b24sync.sandbox.latency`): ``True``
    for the documented constants scaled by ``B24SYNC_LATENCY_SCALE``, or a :class:`CostModel`.
    """
    spec = spec or SeedSpec.from_size(size)
    parties = generate_parties(spec, seed)
    portal_seed, planted = bitrix24_seed(parties, spec, seed, custom_stage=CUSTOM_STAGE_ID)
    portal = Portal(portal_seed, rng_seed=seed, tz=tz, clock=clock)
    store = OneCStore(tz=onec_tz, clock=onec_clock)
    onec_planted = load_onec(store, parties, spec, seed)
    limit_config = Limits() if limits else None
    costs = realistic_latency if isinstance(realistic_latency, CostModel) else (
        CostModel.from_env() if realistic_latency else None)
    emulator = Bitrix24Emulator(portal.registry, limits=limit_config, events_url=events_url, host=host,
                                port=bitrix24_port, clock=clock, tz=tz, costs=costs).start()
    try:
        onec = OneCEmulator(store, hs_app=make_hs_app(store), host=host, port=onec_port, costs=costs).start()
    except BaseException:
        emulator.stop()
        raise
    return Sandbox(bitrix24=emulator, portal=portal, onec=onec, store=store, planted=planted,
                   onec_planted=onec_planted, limits=limit_config, costs=costs)
