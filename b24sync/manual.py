"""Plans a person asks for by hand — a revert, a side picked in a conflict — built and applied alike.

Such a plan is made from the records as they are now (a full read, no write) and holds ordinary
update operations: the value to write, the current value as ``before``, the record's version as the
precondition, and for Bitrix24 phones and e-mails the exact multifield patch. It is shown first and
then applied through the journal as a run of its own, with the same checks as any reconcile (a
record changed since the read makes its operation stale, not overwritten).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from b24sync.config import Config
from b24sync.recon import model as md
from b24sync.recon.diff import jsonable
from b24sync.recon.plan import Operation, Plan, b24_multifield_patch, make_operation

MULTIFIELD = {"phones": "PHONE", "emails": "EMAIL"}


def value_update(target: str, entity: str, target_id: str, keys: Mapping[str, Any],
                 fields: Mapping[str, Mapping[str, Any]], reason: str, current: pd.Series) -> Operation:
    """An update of ``current`` (its row in the normalized frame of ``target``) to ``fields``' ``after``."""
    patch: dict[str, Any] = {}
    if target == md.B24:
        for name in md.SET_FIELDS & set(fields):
            patch[MULTIFIELD[name]] = b24_multifield_patch(name, current[f"raw_{name}"], fields[name]["after"] or [])
        precondition = {"DATE_MODIFY": jsonable(current["version"])}
    else:
        precondition = {"DataVersion": jsonable(current["version"])}
    return make_operation("update", target, entity, target_id, dict(keys), {k: dict(v) for k, v in fields.items()},
                          reason, precondition, patch)


def apply_as_run(config: Config, plan: Plan, command: str, progress: Callable[[int], None] | None = None,
                 after: Callable[[Any], None] | None = None) -> Any:
    """Apply ``plan`` through the journal as a run named ``command``; returns the apply report.

    ``after(report)`` runs under the same lock, before the run is finished (to record a resolution).
    """
    from b24sync.apply import Applier
    from b24sync.journal import Journal
    from b24sync.lock import RunLock
    from b24sync.reconcile import clients
    from b24sync.state import State

    with RunLock(config.state_path, command.partition(" ")[0]):
        state = State(config.state_path)
        run_id = state.start_run(command)
        try:
            b24, onec, service = clients(config)
            applier = Applier(Journal(state, run_id), b24, onec, service=service, write_via=config.onec.write_via,
                              progress=progress)
            applier.resolve_in_doubt()
            report = applier.apply(plan)
            if after is not None:
                after(report)
        except BaseException:
            state.finish_run(run_id, "failed", {})
            raise
        state.finish_run(run_id, "ok" if report.ok else "partial",
                         {**plan.summary, "done": len(report.done), "failed": len(report.failed),
                          "stale": len(report.stale)})
        return report


__all__ = ["apply_as_run", "value_update"]
