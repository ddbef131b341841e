"""``b24sync revert RUN_ID``: the values a run wrote are put back, what changed since is kept,
what it created is listed for review — after a plan, through the journal, as a run of its own."""

from __future__ import annotations

import sqlite3

from b24sync.recon.model import record_id
from tests.e2e.test_reconcile import CP, cli, links, world

__all__ = ["world"]  # the fixture, shared with test_reconcile


def onec_phones(onec, ref: str) -> set[str]:
    return {r["НомерТелефона"] for r in onec.get(CP, ref)["КонтактнаяИнформация"] if r["Тип"] == "Телефон"}


def last_run(config) -> str:
    with sqlite3.connect(config.state_path) as db:
        return db.execute("select run_id from runs where command = 'reconcile' order by started_at desc").fetchone()[0]


def test_a_run_is_reverted_where_nothing_changed_since(world):
    sandbox, cfg_path, config, b24, onec = world
    cli(cfg_path, "doctor", "--fix")
    assert cli(cfg_path, "reconcile").exit_code == 0
    first = last_run(config)
    pairs = [(int(record_id(k)), ref) for k, ref in links(config).items() if k.startswith("company:")]
    pairs = [(c, ref) for c, ref in pairs if b24.call("crm.company.get", {"id": c}).get("PHONE")][:2]
    (x, x_ref), (y, y_ref) = pairs
    before = {ref: onec_phones(onec, ref) for ref in (x_ref, y_ref)}
    z, z_ref = next((c, ref) for c, ref in ((int(record_id(k)), r) for k, r in links(config).items()
                                            if k.startswith("company:"))
                    if c not in (x, y) and onec.get(CP, ref)["КПП"])
    requisite = b24.call("crm.requisite.list", {"filter": {"ENTITY_TYPE_ID": 4, "ENTITY_ID": z}})[0]
    onec.update(CP, z_ref, {"КПП": "772801001"})  # 1C owns the KPP: the run writes it into Bitrix24
    for company, number in ((x, "+7 (499) 700-11-22"), (y, "+7 (499) 700-33-44")):
        phone = b24.call("crm.company.get", {"id": company})["PHONE"][0]
        b24.call("crm.company.update", {"id": company, "fields": {"PHONE": [{"ID": phone["ID"], "VALUE": number}]}})
    assert cli(cfg_path, "reconcile").exit_code == 0
    run = last_run(config)
    assert "+74997001122" in onec_phones(onec, x_ref) and "+74997003344" in onec_phones(onec, y_ref)
    assert b24.call("crm.requisite.get", {"id": requisite["ID"]})["RQ_KPP"] == "772801001"
    # after the run, someone types another phone into y's counterparty: that one is kept
    rows = [dict(r) for r in onec.get(CP, y_ref)["КонтактнаяИнформация"]]
    edited = next(r for r in rows if r["Тип"] == "Телефон" and r["НомерТелефона"] == "+74997003344")
    edited.update({"Представление": "+7 (812) 555-44-33", "НомерТелефона": "+78125554433"})
    onec.update(CP, y_ref, {"КонтактнаяИнформация": rows})

    sandbox.bitrix24.request_log.clear()
    onec_before = len(sandbox.onec.request_log)
    dry = cli(cfg_path, "revert", run[:8], "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "2 operation(s)" in dry.output and f"counterparty:{y_ref}: phones changed since the run" in dry.output
    assert sandbox.bitrix24.request_log.writes == []
    assert not [r for r in list(sandbox.onec.request_log)[onec_before:] if r.method != "GET"]

    declined = cli(cfg_path, "revert", run[:8])  # no answer (stdin closed): aborted, not confirmed
    assert declined.exit_code == 1 and "Write these 2 operation(s) back?" in declined.output
    assert sandbox.bitrix24.request_log.writes == []
    assert not [r for r in list(sandbox.onec.request_log)[onec_before:] if r.method != "GET"]
    done = cli(cfg_path, "revert", run[:8], "--yes")
    assert done.exit_code == 0, done.output
    assert "Applied 2 operation(s)" in done.output
    assert onec_phones(onec, x_ref) == before[x_ref]  # put back, in 1C
    assert b24.call("crm.requisite.get", {"id": requisite["ID"]})["RQ_KPP"] == requisite["RQ_KPP"]  # and in Bitrix24
    assert "+78125554433" in onec_phones(onec, y_ref)  # a later edit is kept

    review = cli(cfg_path, "revert", first[:8], "--dry-run")  # the first run created and linked records
    assert review.exit_code == 0, review.output
    assert "for a person to review" in review.output and "b24sync never deletes records" in review.output
    assert "UF_CRM_1C_ID stamp are kept" in review.output


def test_unknown_and_ambiguous_runs_are_refused(world):
    sandbox, cfg_path, config, b24, onec = world
    cli(cfg_path, "doctor", "--fix")
    for args, words in ((("zzzzzzzz",), "No run 'zzzzzzzz'"), (("abc",), "at least 6 characters")):
        refused = cli(cfg_path, "revert", *args)
        assert refused.exit_code == 1 and words in refused.output, refused.output
