"""Who owns each synchronized field, and whether an owner's empty value may erase the other side's.

Policies:

- ``bitrix24`` / ``onec``: that side owns the field. Its changes propagate; a change made on the
  other side is reverted and reported as a rejected edit.
- ``newest``: nobody owns it; the side changed since the baseline wins, and when both changed the
  later ``modified_at`` wins (the other edit is reported).
- ``none``: not synchronized at all.

Defaults follow the business rule: managers keep phones, e-mails and the responsible manager
current in Bitrix24; accounting verifies INN, KPP, the legal name and the legal address in 1C; the
short name follows the newest edit. ``allow_clear`` (default off) lets an owner's *empty* value
erase a filled one; without it, clearing is never propagated.

The config layer passes the ``[fields]`` TOML table to :meth:`FieldRules.from_dict`::

    [fields]
    phones = "bitrix24"
    name = "newest"
    allow_clear = ["emails"]     # or true / false
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from b24sync import messages as m
from b24sync.errors import ConfigError
from b24sync.i18n import t
from b24sync.recon.model import B24, ONEC, SYNC_FIELDS

__all__ = ["DEFAULT_POLICIES", "NEWEST", "NONE", "POLICIES", "FieldRules"]

NEWEST = "newest"
NONE = "none"
POLICIES = (B24, ONEC, NEWEST, NONE)

DEFAULT_POLICIES: Mapping[str, str] = MappingProxyType({
    "name": NONE,  # working names differ by habit on each side; see docs/reconciliation.md
    "full_name": ONEC,
    "inn": ONEC,
    "kpp": ONEC,
    "phones": B24,
    "emails": B24,
    "legal_address": ONEC,
    "manager": B24,
})


@dataclass(frozen=True)
class FieldRules:
    """Field → policy, plus the set of fields an owner may clear. Immutable and hashable by value."""

    policies: Mapping[str, str] = field(default_factory=lambda: DEFAULT_POLICIES)
    allow_clear: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        merged = dict(DEFAULT_POLICIES)
        merged.update(self.policies)
        object.__setattr__(self, "policies", MappingProxyType(merged))
        object.__setattr__(self, "allow_clear", frozenset(self.allow_clear))
        for name, policy in merged.items():
            _check_field(name, "fields.")
            _check_policy(name, policy, "fields.")
        for name in self.allow_clear:
            _check_field(name, "fields.allow_clear: ")

    def __hash__(self) -> int:
        return hash((tuple(sorted(self.policies.items())), self.allow_clear))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None = None, *, prefix: str = "fields.") -> FieldRules:
        """Build the rules from a plain dict (the ``[fields]`` table); errors name the offending key.

        ``allow_clear`` may be ``true`` (every field), ``false`` or a list of field names.
        """
        data = dict(data or {})
        clear_raw = data.pop("allow_clear", False)
        if isinstance(clear_raw, bool):
            clear = frozenset(SYNC_FIELDS) if clear_raw else frozenset()
        elif isinstance(clear_raw, list | tuple) and all(isinstance(x, str) for x in clear_raw):
            for name in clear_raw:
                _check_field(name, f"{prefix}allow_clear: ")
            clear = frozenset(clear_raw)
        else:
            raise ConfigError(t(m.RULES_BAD_ALLOW_CLEAR, key=f"{prefix}allow_clear", value=clear_raw))
        for name, policy in data.items():
            _check_field(name, prefix)
            _check_policy(name, policy, prefix)
        return cls(policies=data, allow_clear=clear)

    def policy(self, name: str) -> str:
        """The policy of one field."""
        return self.policies[name]

    def owner(self, name: str) -> str | None:
        """``bitrix24`` or ``onec`` when a side owns the field, else ``None``."""
        policy = self.policies[name]
        return policy if policy in (B24, ONEC) else None

    def may_clear(self, name: str) -> bool:
        return name in self.allow_clear

    def synced(self) -> tuple[str, ...]:
        """Fields that are synchronized (policy other than ``none``), in canonical order."""
        return tuple(name for name in SYNC_FIELDS if self.policies[name] != NONE)

    def to_dict(self) -> dict[str, Any]:
        """The plain-dict form :meth:`from_dict` reads (for fingerprints and reports)."""
        return {**dict(self.policies), "allow_clear": sorted(self.allow_clear)}


def _check_field(name: Any, prefix: str) -> None:
    if name not in SYNC_FIELDS:
        raise ConfigError(t(m.RULES_UNKNOWN_FIELD, key=f"{prefix}{name}", known=_known(SYNC_FIELDS)))


def _check_policy(name: str, policy: Any, prefix: str) -> None:
    if policy not in POLICIES:
        raise ConfigError(t(m.RULES_BAD_POLICY, key=f"{prefix}{name}", known=_known(POLICIES), value=policy))


def _known(names: Iterable[str]) -> str:
    return ", ".join(names)
