"""What the document flows hand back to a reconciliation: operations plus what to record."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from b24sync.documents.catalog import OneCCatalog
from b24sync.documents.stages import Statuses
from b24sync.recon.model import Issue
from b24sync.recon.plan import Operation
from b24sync.sources.bitrix24.client import Bitrix24Client
from b24sync.sources.onec.client import OneCClient
from b24sync.state import State

ORDERS = "Document_ЗаказКлиента"
INTERESTS = "Document_CRM_Интерес"
ORDER_FIELD = "UF_CRM_1C_ORDER_ID"
LEAD_FIELD = "UF_CRM_1C_LEAD_ID"
EDITABLE_STATUS = "НеСогласован"
SEEN = "b24.date_modify"  # baseline field: the DATE_MODIFY of the record when it last agreed with 1C
DOCUMENT_NS = uuid.UUID("3d0c6b9a-1e55-4f7a-8a44-0b24d0c00001")


def document_ref(b24_key: str) -> str:
    """The deterministic ``Ref_Key`` of the 1C document made from ``deal:N`` / ``lead:N``.

    A run killed after 1C stored the document finds it again by this key instead of making a
    second one; the HTTP service has its own idempotency (it is keyed by the Bitrix24 id).
    """
    return str(uuid.uuid5(DOCUMENT_NS, b24_key))


CounterpartyLookup = Callable[[str], tuple[str | None, str]]
"""``company:12`` → (the 1C counterparty ref, or None and the reason it has none)."""


@dataclass
class DocContext:
    """Everything a document flow reads, read once per run."""

    b24: Bitrix24Client
    onec: OneCClient
    state: State
    catalog: OneCCatalog
    b24_user_email: dict[int, str]
    onec_user_by_email: dict[str, str]
    counterparty: CounterpartyLookup
    now: datetime
    statuses: Statuses | None = None
    via_service: dict[str, bool] = field(default_factory=dict)


@dataclass
class DocPlan:
    operations: list[Operation] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    links: list[tuple[str, str, str]] = field(default_factory=list)  # found in the systems, not in the state
    baselines: list[dict[str, Any]] = field(default_factory=list)  # checked and in agreement
    watermarks: dict[str, str] = field(default_factory=dict)
    product_pairs: dict[str, tuple[str, str]] = field(default_factory=dict)  # mapping key → (ref, how)
    checked: int = 0

    def extend(self, other: DocPlan) -> None:
        self.operations += other.operations
        self.issues += other.issues
        self.links += other.links
        self.baselines += other.baselines
        self.watermarks.update(other.watermarks)
        self.product_pairs.update(other.product_pairs)
        self.checked += other.checked
