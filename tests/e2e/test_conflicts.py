"""``b24sync conflicts``: the held-back records listed with their facts, and a link made by hand.

The seeded sandbox plants duplicates (two Bitrix24 companies and one 1C counterparty with one INN and
KPP, two 1C counterparties with one INN, a shared e-mail …). After a full run the command lists what
that run's plan held back — without a request to either system — and ``conflicts link`` resolves a
group: the next reconcile stamps and syncs the chosen pair, the rest of the group stays held back.
"""

from __future__ import annotations

import json

from b24sync.recon.model import record_id
from b24sync.state import State
from tests.e2e.test_reconcile import CP, WIDE, app, cli, links, plan_of, runner, world

__all__ = ["world"]  # the fixture, shared with test_reconcile


def listed(cfg_path, *extra: str) -> list[dict]:
    result = cli(cfg_path, "conflicts", "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_conflicts_are_listed_with_their_records_and_cost_no_request(world):
    sandbox, cfg_path, config, b24, onec = world
    first = cli(cfg_path, "conflicts")
    assert first.exit_code == 0 and "No full run has been recorded yet" in first.output
    cli(cfg_path, "doctor", "--fix")
    planned = {(c["kind"], c["reason"], tuple(c["records"])) for c in plan_of(cfg_path, "--full")["conflicts"]}
    assert planned
    assert cli(cfg_path, "reconcile").exit_code == 0
    sandbox.bitrix24.request_log.clear()
    onec_before = len(sandbox.onec.request_log)
    found = listed(cfg_path)
    assert sandbox.bitrix24.request_log.snapshot() == [] and len(sandbox.onec.request_log) == onec_before
    assert {(c["kind"], c["reason"], tuple(c["records"])) for c in found} == planned
    for conflict in found:
        for key in conflict["records"]:
            if key.startswith("company:"):
                title = b24.call("crm.company.get", {"id": int(record_id(key))})["TITLE"]
                assert conflict["facts"][key]["name"] == title  # Cyrillic, as read
    text = cli(cfg_path, "conflicts")
    assert text.exit_code == 0 and f"{len(found)} open conflict(s)" in text.output
    assert "conflicts link" in text.output
    refreshed = listed(cfg_path, "--refresh")  # a full read, no write
    assert {c["id"] for c in refreshed} == {c["id"] for c in found}
    assert sandbox.bitrix24.request_log.writes == []


def test_a_link_by_hand_resolves_a_duplicate_group(world):
    sandbox, cfg_path, config, b24, onec = world
    cli(cfg_path, "doctor", "--fix")
    assert cli(cfg_path, "reconcile").exit_code == 0
    group = next(c for c in listed(cfg_path) if c["kind"] == "duplicate_inn"
                 and any(k.startswith("company:") for k in c["records"])
                 and any(k.startswith("counterparty:") for k in c["records"]))
    company = next(k for k in group["records"] if k.startswith("company:") and k not in links(config))
    counterparty = next(k for k in group["records"] if k.startswith("counterparty:"))
    ref = record_id(counterparty)
    assert ref not in links(config).values()

    for args, words in ((("company:x", ref), "is not a Bitrix24 record"),
                        ((company, "not-a-guid"), "is not a 1C Ref_Key"),
                        (("company:999999", ref), "does not exist"),
                        ((company, "00000000-0000-0000-0000-0000000000ff"), "does not exist")):
        refused = cli(cfg_path, "conflicts", "link", *args)
        assert refused.exit_code == 1 and words in refused.output, refused.output
    person = next(r["Ref_Key"] for r in onec.query(CP, select=["Ref_Key", "ЮрФизЛицо"]) if r["ЮрФизЛицо"] == "ФизЛицо"
                  and r["Ref_Key"] not in links(config).values())
    mismatch = cli(cfg_path, "conflicts", "link", company, person)
    assert mismatch.exit_code == 1 and "cannot be one party" in mismatch.output
    assert company not in links(config)

    done = cli(cfg_path, "conflicts", "link", company, ref)
    assert done.exit_code == 0 and "resolves 1 open conflict(s)" in done.output, done.output
    assert links(config)[company] == ref
    again = cli(cfg_path, "conflicts", "link", company, ref)
    assert again.exit_code == 1 and "already linked" in again.output
    assert cli(cfg_path, "reconcile", "--full").exit_code == 0
    assert b24.call("crm.company.get", {"id": int(record_id(company))})["UF_CRM_1C_ID"] == ref
    assert group["id"] not in {c["id"] for c in listed(cfg_path)}
    others = set(group["records"]) - {company, counterparty}
    held = {k for c in listed(cfg_path) for k in c["records"]}
    assert others <= held  # the rest of the group is still held back
    assert plan_of(cfg_path)["operations"] == []


def _with_newest_names(cfg_path) -> None:
    """Names follow the newest edit: 1C keeps no modification time, so differing names are undecided."""
    text = cfg_path.read_text(encoding="utf-8")
    assert "[fields]" not in text
    cfg_path.write_text(text + '\n[fields]\nname = "newest"\n', encoding="utf-8")


def test_picking_a_side_settles_a_field_both_sides_hold_differently(world):
    sandbox, cfg_path, config, b24, onec = world
    _with_newest_names(cfg_path)
    cli(cfg_path, "doctor", "--fix")
    assert cli(cfg_path, "reconcile").exit_code == 0
    undecided = [c for c in listed(cfg_path) if c["kind"] == "field_undecided" and c["detail"]["field"] == "name"]
    assert len(undecided) >= 2, "the seeded names should differ on some linked pairs"
    first, second = undecided[0], undecided[1]
    company = first["records"][0]
    counterparty = first["records"][1]
    entity, number = company.split(":")
    onec_name = onec.get(CP, record_id(counterparty))["Description"]
    b24_before = b24.call(f"crm.{entity}.get", {"id": int(number)})
    b24_name = b24_before["TITLE"] if entity == "company" else b24_before["NAME"]
    assert onec_name != b24_name

    duplicate = next(c for c in listed(cfg_path) if c["kind"] != "field_undecided")
    refused = cli(cfg_path, "conflicts", "pick", duplicate["id"], "--side", "1c")
    assert refused.exit_code == 1 and "conflicts link" in refused.output, refused.output
    for args, words in (((first["id"], "--side", "excel"), "is not a side"),
                        (("zzzzzz", "--side", "1c"), "names 0 open conflict(s)"),
                        ((first["id"][:3], "--side", "1c"), "names 0 open conflict(s)")):
        bad = cli(cfg_path, "conflicts", "pick", *args)
        assert bad.exit_code == 1 and words in bad.output, bad.output

    sandbox.bitrix24.request_log.clear()
    shown = cli(cfg_path, "conflicts", "pick", first["id"][:8], "--side", "1c", "--dry-run")
    assert shown.exit_code == 0 and "Dry run: nothing was written" in shown.output, shown.output
    assert onec_name in shown.output and sandbox.bitrix24.request_log.writes == []

    declined = runner.invoke(app, ["--config", str(cfg_path), "conflicts", "pick", first["id"], "--side", "1c"],
                             input="n\n", env=WIDE)
    assert declined.exit_code == 0 and "nothing was written" in declined.output
    assert sandbox.bitrix24.request_log.writes == []

    done = cli(cfg_path, "conflicts", "pick", first["id"], "--side", "1c", "--yes")
    assert done.exit_code == 0, done.output
    after = b24.call(f"crm.{entity}.get", {"id": int(number)})
    assert (after["TITLE"] if entity == "company" else after["NAME"]) == onec_name  # Cyrillic, as 1C holds it
    assert onec.get(CP, record_id(counterparty))["Description"] == onec_name
    assert first["id"] not in {c["id"] for c in listed(cfg_path)}
    state = State(config.state_path)
    assert [(r["action"], r["b24_key"], r["onec_key"]) for r in state.db["resolutions"].rows] == \
        [("pick:onec", company, counterparty)]
    assert any(r["command"].startswith("conflicts pick") and r["status"] == "ok" for r in state.last_runs(5))

    # the other way round: Bitrix24's value goes to 1C
    b_key, o_key = second["records"]
    e2, n2 = b_key.split(":")
    rec = b24.call(f"crm.{e2}.get", {"id": int(n2)})
    b24_name2 = rec["TITLE"] if e2 == "company" else f"{rec['NAME']}"
    assert cli(cfg_path, "conflicts", "pick", second["id"], "--side", "bitrix24", "--yes").exit_code == 0
    assert b24_name2 in onec.get(CP, record_id(o_key))["Description"]

    plan = plan_of(cfg_path, "--full")
    still = {tuple(c["records"]) for c in plan["conflicts"] if c["kind"] == "field_undecided"}
    assert tuple(first["records"]) not in still and tuple(second["records"]) not in still
    assert not [op for op in plan["operations"] if op["key"].get("b24_key") in (company, b_key)
                and "name" in op["fields"]]
