"""The demo job: start the sandbox, point a real config at it, and read it with the real client.

Until reconciliation exists this is what ``b24sync demo`` runs: it proves the install end to end
(config loading with owner-only secrets, the client's batched keyset export under the emulated
rate limits) and shows what the seeded portal holds. The CLI only renders the :class:`DemoReport`.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from b24sync.config import load_config
from b24sync.sandbox.run import start_sandbox
from b24sync.sandbox.seed import Planted
from b24sync.sources.bitrix24.client import Bitrix24Client
from b24sync.sources.bitrix24.read import export

ENTITIES: list[tuple[str, list[str]]] = [
    ("company", ["ID", "TITLE", "PHONE", "EMAIL", "DATE_MODIFY"]),
    ("requisite", ["ID", "ENTITY_TYPE_ID", "ENTITY_ID", "PRESET_ID", "RQ_INN", "RQ_KPP", "RQ_COMPANY_NAME"]),
    ("address", ["TYPE_ID", "ENTITY_TYPE_ID", "ENTITY_ID", "ADDRESS_1", "CITY", "POSTAL_CODE"]),
    ("contact", ["ID", "NAME", "LAST_NAME", "COMPANY_ID", "PHONE", "EMAIL"]),
    ("deal", ["ID", "TITLE", "STAGE_ID", "OPPORTUNITY", "CURRENCY_ID", "COMPANY_ID", "CONTACT_ID"]),
    ("lead", ["ID", "TITLE", "STATUS_ID", "OPPORTUNITY"]),
    ("user", []),
]


@dataclass
class EntityStats:
    entity: str
    records: int
    requests: int
    floor: int


@dataclass
class DemoReport:
    stats: list[EntityStats] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)
    planted: list[Planted] = field(default_factory=list)
    seconds: float = 0.0
    requests: int = 0
    rejected: int = 0


def run_demo(size: int = 200, seed: int = 0, *, on_entity: Callable[[str], Callable[[int], None]] | None = None,
             workdir: Path | None = None) -> DemoReport:
    """Run the demo job against a fresh in-process sandbox; returns what it found."""
    started = time.monotonic()
    report = DemoReport()
    with tempfile.TemporaryDirectory(prefix="b24sync-demo-") as tmp, start_sandbox(size=size, seed=seed) as sandbox:
        config = load_config(sandbox.write_config(Path(workdir or tmp) / "demo.toml"))
        client = Bitrix24Client.from_config(config)
        data: dict[str, list[dict[str, Any]]] = {}
        for name, select in ENTITIES:
            before = client.requests_made
            progress = on_entity(name) if on_entity else None
            rows = [row for page in export(client, name, select=select or None, progress=progress) for row in page]
            data[name] = rows
            used = client.requests_made - before
            floor = request_floor(name, len(rows))
            report.stats.append(EntityStats(name, len(rows), used, floor))
        report.samples = _samples(data)
        report.planted = list(sandbox.planted)
        report.requests = client.requests_made
        report.rejected = sum(r.status in (429, 503) for r in sandbox.bitrix24.request_log.snapshot())
    report.seconds = time.monotonic() - started
    return report


def request_floor(entity_name: str, records: int) -> int:
    """The fewest requests that can read ``records`` rows: 2,500 per batch, one at the least;
    addresses are read by offset, whose first page (50 rows, and the total) is a call of its own."""
    if entity_name == "address":
        return 1 + math.ceil(max(0, records - 50) / 2500)
    return max(1, math.ceil(records / 2500))


def _samples(data: dict[str, list[dict[str, Any]]], count: int = 5) -> list[dict[str, Any]]:
    requisites = {row["ENTITY_ID"]: row for row in data["requisite"] if row["ENTITY_TYPE_ID"] == 4}
    samples = []
    for company in data["company"]:
        req = requisites.get(company["ID"])
        if req is None or not company.get("PHONE"):
            continue
        samples.append({
            "title": company["TITLE"],
            "inn": req.get("RQ_INN") or "",
            "kpp": req.get("RQ_KPP") or "",
            "phones": [item["VALUE"] for item in company["PHONE"]],
            "emails": [item["VALUE"] for item in company.get("EMAIL", [])],
        })
        if len(samples) == count:
            break
    return samples
