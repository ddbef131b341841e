"""Minimal reproductions of what the R16 state machine (test_state_machine.py) found, kept as regressions.

1. A write identical to one an earlier run made (a value changed back and forth) was skipped as
   "already done": the journal was keyed by ``op_id`` alone. Fixed: rows per run, skip only on a
   re-apply of the same plan (``b24sync/journal.py``).
2. A record held back as a duplicate was never revisited by incremental runs once a correction on
   the *linked* record freed its key. Fixed: a run that changes a match key of a linked record makes
   the next run match in full (``REMATCH`` in ``b24sync/pipeline.py``).
3. By design, matching uses the values read at the start of a run: a key freed by the run's own
   writes is matched by the next run, so convergence after such a correction takes two runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from b24sync.config import load_config
from b24sync.doctor import run_doctor
from b24sync.reconcile import run_reconcile
from b24sync.sandbox.run import start_sandbox
from tests.property.test_state_machine import CP, FLOWS, e164, fast_config, make_clients, read_links


@pytest.fixture
def linked_company(tmp_path: Path):
    """A sandbox after doctor --fix and a first reconcile, and one linked company with a phone and a KPP."""
    with start_sandbox(size=20, seed=0, limits=False) as sandbox:
        config = load_config(fast_config(sandbox, tmp_path))
        run_doctor(config, fix=True)
        assert run_reconcile(config, only=FLOWS).report.ok
        b24, onec = make_clients(sandbox, config)
        links = read_links(config.state_path)
        for key, ref in sorted(links.items()):
            if not key.startswith("company:"):
                continue
            company = b24.call("crm.company.get", {"id": int(key.split(":")[1])})
            counterparty = onec.get(CP, ref)
            if company.get("PHONE") and counterparty["ЮрФизЛицо"] == "ЮрЛицо" and counterparty["КПП"]:
                yield config, b24, onec, int(company["ID"]), ref
                return
        pytest.fail("no linked legal company with a phone in the sandbox")


def onec_phones(onec, ref: str) -> set[str]:
    rows = onec.get(CP, ref)["КонтактнаяИнформация"]
    return {e164(r.get("Представление") or r.get("НомерТелефона")) for r in rows if r["Тип"] == "Телефон"}


def test_a_phone_changed_back_and_forth_in_bitrix24_reaches_1c_every_time(linked_company):
    """Bitrix24 owns phones. A → B, B → A, A → B again: each change reaches 1C.

    Was: the third run planned «update onec counterparty phones [A] → [B]» with the op_id of the op
    the first run did; apply counted it as skipped yet stored B as the agreed baseline, 1C kept A,
    and the next run blamed 1C for a non-owner edit.
    """
    config, b24, onec, company, ref = linked_company
    first = b24.call("crm.company.get", {"id": company})["PHONE"][0]
    original = e164(first["VALUE"])
    for value in ("+7 (499) 700-11-22", first["VALUE"], "+7 (499) 700-11-22"):
        b24.call("crm.company.update", {"id": company, "fields": {"PHONE": [{"ID": first["ID"], "VALUE": value}]}})
        result = run_reconcile(config, only=FLOWS)
        assert result.report.ok and result.report.skipped == 0 and len(result.report.done) == 1
    assert "+74997001122" in onec_phones(onec, ref) and original not in onec_phones(onec, ref)
    assert not run_reconcile(config, dry_run=True, only=FLOWS).plan.operations


def test_the_same_non_owner_edit_made_twice_is_reverted_twice(linked_company):
    """1C owns the KPP. The same wrong KPP typed on the Bitrix24 requisite twice: reverted twice.

    Was: the second revert had the op_id of the first, apply skipped it, the wrong KPP stayed in
    Bitrix24, and every later run planned the same revert and skipped it again.
    """
    config, b24, onec, company, ref = linked_company
    kpp = onec.get(CP, ref)["КПП"]
    requisite = b24.call("crm.requisite.list", {"filter": {"ENTITY_TYPE_ID": 4, "ENTITY_ID": company}})[0]["ID"]
    for _ in range(2):
        b24.call("crm.requisite.update", {"id": requisite, "fields": {"RQ_KPP": "772801099"}})
        assert run_reconcile(config, only=FLOWS).report.ok
        assert b24.call("crm.requisite.get", {"id": requisite})["RQ_KPP"] == kpp
    assert not run_reconcile(config, dry_run=True, only=FLOWS).plan.operations


def duplicate_of(onec, ref: str) -> str:
    """A second 1C counterparty with the INN and KPP of ``ref`` (a duplicate, held back by b24sync)."""
    original = onec.get(CP, ref)
    manager = onec.get("Catalog_Партнеры", original["Партнер_Key"])["ОсновнойМенеджер_Key"]
    partner = onec.create("Catalog_Партнеры", {"Description": "Дубль", "ЮрФизЛицо": "Компания",
                                               "ОсновнойМенеджер_Key": manager})
    return onec.create(CP, {"Description": "Дубль", "ИНН": original["ИНН"], "КПП": original["КПП"],
                            "ЮрФизЛицо": "ЮрЛицо", "Партнер_Key": partner["Ref_Key"]})["Ref_Key"]


@pytest.mark.parametrize("full", [False, True], ids=["incremental", "full"])
def test_a_counterparty_held_back_as_a_duplicate_is_created_once_the_other_inn_is_corrected(linked_company, full):
    """1C: a second counterparty with the INN and KPP of a linked one is held back (duplicate_inn).

    The accountant then corrects the INN of the *linked* one. The run that copies it to Bitrix24
    still sees the twin's INN taken (matching uses the values read at its start); the next run,
    incremental or not, matches in full and creates the twin's company; then nothing is left.
    Was: incremental runs never revisited the twin (nothing about it changed) until a --full run.
    """
    config, b24, onec, company, ref = linked_company
    twin = duplicate_of(onec, ref)
    held = run_reconcile(config, only=FLOWS, full=full)
    assert held.report.ok and any(f"counterparty:{twin}" in c.records for c in held.plan.conflicts)
    onec.update(CP, ref, {"ИНН": "7707083893"})  # a valid INN nobody has
    assert run_reconcile(config, only=FLOWS, full=full).report.ok  # Bitrix24's requisite follows 1C
    second = run_reconcile(config, only=FLOWS, full=full)
    assert second.prepared.full  # the INN change makes this run match in full
    assert [(op.action, op.key["onec_key"]) for op in second.report.done] == [("create", f"counterparty:{twin}")]
    left = run_reconcile(config, dry_run=True, only=FLOWS).plan.operations
    assert not left, [(op.action, op.target, dict(op.key), dict(op.fields)) for op in left]
    assert not run_reconcile(config, dry_run=True, only=FLOWS, full=True).plan.operations
    assert not run_reconcile(config, dry_run=True, only=FLOWS).prepared.full  # and incremental again
