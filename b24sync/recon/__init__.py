"""Reconciliation: the pure stages between extract and apply (no I/O).

``normalize_*`` → :func:`match` → :func:`diff` → :func:`build_plan`. DataFrames and dataclasses in
and out; see ``docs/reconciliation.md`` for the rules and ``docs/plan-format.md`` for the plan.
"""

from b24sync.recon.diff import DiffResult, diff
from b24sync.recon.match import MatchResult, match
from b24sync.recon.model import Conflict, Issue, RejectedEdit
from b24sync.recon.normalize import Normalized, normalize_bitrix24, normalize_onec
from b24sync.recon.plan import Operation, Plan, build_plan
from b24sync.recon.rules import FieldRules

__all__ = [
    "Conflict",
    "DiffResult",
    "FieldRules",
    "Issue",
    "MatchResult",
    "Normalized",
    "Operation",
    "Plan",
    "RejectedEdit",
    "build_plan",
    "diff",
    "match",
    "normalize_bitrix24",
    "normalize_onec",
]
