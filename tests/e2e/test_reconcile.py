"""Reconciliation end to end through the CLI, against both emulators over loopback."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from typer.testing import CliRunner

from b24sync.cli import app
from b24sync.lock import RunLock
from b24sync.sandbox.onec.rules import business_error
from b24sync.sources.bitrix24.read import export_all
from b24sync.state import State
from tests.e2e.conftest import sandbox_world

CP = "Catalog_Контрагенты"
WIDE = {"COLUMNS": "250"}
runner = CliRunner()


@pytest.fixture
def world(tmp_path):
    with sandbox_world(tmp_path, seed=5) as world:
        yield world


def cli(cfg_path, *args: str):
    return runner.invoke(app, ["--config", str(cfg_path), *args], env=WIDE)


def plan_of(cfg_path, *extra: str) -> dict:
    result = cli(cfg_path, "reconcile", "--dry-run", "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def links(config) -> dict[str, str]:
    return {row["b24_key"]: row["onec_key"].split(":", 1)[1] for row in State(config.state_path).links()}


def test_reconcile_needs_the_link_fields_first(world):
    sandbox, cfg_path, *_ = world
    result = cli(cfg_path, "reconcile", "--dry-run")
    assert result.exit_code == 78 and "doctor --fix" in result.output


def test_dry_run_writes_nothing_then_apply_converges(world):
    sandbox, cfg_path, config, b24, onec = world
    assert cli(cfg_path, "doctor", "--fix").exit_code == 0
    sandbox.bitrix24.request_log.clear()
    onec_before = len(sandbox.onec.request_log)
    plan = plan_of(cfg_path)
    assert plan["format_version"] == 1 and plan["summary"]["total_operations"] > 0
    assert sandbox.bitrix24.request_log.writes == []
    assert not [r for r in list(sandbox.onec.request_log)[onec_before:] if r.method != "GET"]
    assert {c["kind"] for c in plan["conflicts"]} >= {"duplicate_inn", "invalid_inn"}
    applied = cli(cfg_path, "reconcile")
    assert applied.exit_code == 0, applied.output
    assert "0 failed" in applied.output
    leftover = plan_of(cfg_path)["operations"]
    assert leftover == [], [(o["target"], o["key"], o["fields"]) for o in leftover]
    assert plan_of(cfg_path, "--full")["operations"] == []
    # no duplicates: one Bitrix24 record per 1C origin, one link per record on both sides
    for entity in ("company", "contact"):
        origins = Counter(r["ORIGIN_ID"] for r in export_all(b24, entity, select=["ID", "ORIGIN_ID"]) if r["ORIGIN_ID"])
        assert origins and max(origins.values()) == 1
    assert len(set(links(config).values())) == len(links(config))


def test_the_rules_hold_after_hand_edits_on_both_sides(world):
    sandbox, cfg_path, config, b24, onec = world
    cli(cfg_path, "doctor", "--fix")
    assert cli(cfg_path, "reconcile").exit_code == 0
    linked = links(config)
    companies = {int(k.split(":")[1]): ref for k, ref in linked.items() if k.startswith("company:")}
    requisites = {int(r["ENTITY_ID"]): r for r in export_all(b24, "requisite", select=["ID", "ENTITY_ID", "RQ_INN",
                                                                                       "RQ_KPP"],
                                                                 filters={"ENTITY_TYPE_ID": 4})}
    legal = [cid for cid in sorted(companies) if len(requisites.get(cid, {}).get("RQ_INN") or "") == 10]
    a, b, c, d = legal[:4]
    # (1) a phone changed in Bitrix24 (the owner) → 1C follows
    a_phones = b24.call("crm.company.get", {"id": a})["PHONE"]
    b24.call("crm.company.update", {"id": a, "fields": {"PHONE": [{"ID": a_phones[0]["ID"],
                                                                   "VALUE": "8 (499) 700-11-22"}]}})
    # (2) a phone changed in 1C (not the owner) → reverted in 1C, reported as a rejected edit
    b_ref = companies[b]
    b_row = onec.get(CP, b_ref)
    rows = [dict(r) for r in b_row["КонтактнаяИнформация"]]
    phone_row = next(r for r in rows if r["Тип"] == "Телефон")
    phone_row.update({"Представление": "+7 (812) 999-99-99", "НомерТелефона": "+78129999999"})
    onec.update(CP, b_ref, {"КонтактнаяИнформация": rows})
    # (3) a KPP changed in 1C (the owner) → Bitrix24 follows; (4) a KPP changed in Bitrix24 → reverted
    onec.update(CP, companies[c], {"КПП": "770145001"})
    d_kpp = requisites[d]["RQ_KPP"]
    b24.call("crm.requisite.update", {"id": requisites[d]["ID"], "fields": {"RQ_KPP": "772801099"}})
    # (5) a new contact in Bitrix24, (6) a new counterparty in 1C, (7) two companies sharing an INN
    email = [{"VALUE": "Yaroslava@Ёлка.рф", "VALUE_TYPE": "WORK"}]
    new_contact = b24.call("crm.contact.add", {"fields": {"NAME": "Ярослава", "LAST_NAME": "Ёлкина", "EMAIL": email}})
    manager = onec.query("Catalog_Пользователи", top=1, filter="Служебный eq false")[0]["Ref_Key"]
    partner = onec.create("Catalog_Партнеры", {"Description": "Северный ветер", "ЮрФизЛицо": "Компания",
                                               "ОсновнойМенеджер_Key": manager})
    new_cp = onec.create(CP, {"Description": "Северный ветер ООО", "ИНН": "7707083893", "КПП": "770701001",
                              "ЮрФизЛицо": "ЮрЛицо", "Партнер_Key": partner["Ref_Key"]})
    twin_inn = requisites[legal[5]]["RQ_INN"]
    twin = b24.call("crm.company.add", {"fields": {"TITLE": "Двойник"}})
    b24.call("crm.requisite.add", {"fields": {"ENTITY_TYPE_ID": 4, "ENTITY_ID": twin, "PRESET_ID": 1,
                                              "NAME": "Организация", "RQ_INN": twin_inn,
                                              "RQ_KPP": requisites[legal[5]]["RQ_KPP"]}})
    plan = plan_of(cfg_path)
    rejected = {(r["field"], r.get("b24_key")) for r in plan["rejected_edits"]}
    assert ("phones", f"company:{b}") in rejected and ("kpp", f"company:{d}") in rejected
    conflicted = {rec for conflict in plan["conflicts"] for rec in conflict["records"]}
    assert f"company:{twin}" in conflicted
    result = cli(cfg_path, "reconcile")
    assert result.exit_code == 0, result.output
    assert "+74997001122" in {r["НомерТелефона"] for r in onec.get(CP, companies[a])["КонтактнаяИнформация"]}
    b_numbers = {r["НомерТелефона"] for r in onec.get(CP, b_ref)["КонтактнаяИнформация"] if r["Тип"] == "Телефон"}
    assert "+78129999999" not in b_numbers
    kpp = {int(r["ENTITY_ID"]): r["RQ_KPP"] for r in export_all(b24, "requisite", select=["ENTITY_ID", "RQ_KPP"],
                                                                 filters={"ENTITY_TYPE_ID": 4})}
    assert kpp[c] == "770145001" and kpp[d] == d_kpp
    contact = b24.call("crm.contact.get", {"id": new_contact})
    created = onec.get(CP, contact["UF_CRM_1C_ID"])
    assert "Ёлкина" in created["Description"] and "Ярослава" in created["Description"]
    made = export_all(b24, "company", select=["ID", "TITLE", "ORIGIN_ID"], filters={"ORIGIN_ID": new_cp["Ref_Key"]})
    assert len(made) == 1 and made[0]["TITLE"] == "Северный ветер ООО"
    assert export_all(b24, "company", select=["ID", "UF_CRM_1C_ID"], filters={"ID": twin})[0]["UF_CRM_1C_ID"] in (
        None, "")
    leftover = plan_of(cfg_path)["operations"]
    assert leftover == [], [(o["target"], o["key"], o["fields"]) for o in leftover]


def test_max_changes_and_the_lock(world):
    sandbox, cfg_path, config, *_ = world
    cli(cfg_path, "doctor", "--fix")
    sandbox.bitrix24.request_log.clear()
    refused = cli(cfg_path, "reconcile", "--max-changes", "3")
    assert refused.exit_code == 1 and "--max-changes" in refused.output
    assert sandbox.bitrix24.request_log.writes == []
    with RunLock(config.state_path, "reconcile"):
        before = len(sandbox.bitrix24.request_log.snapshot())
        locked = cli(cfg_path, "reconcile")
        assert locked.exit_code == 75 and "lock" in locked.output
        assert len(sandbox.bitrix24.request_log.snapshot()) == before  # not a single request


def test_a_saved_plan_refuses_stale_records(world, tmp_path):
    sandbox, cfg_path, config, b24, onec = world
    cli(cfg_path, "doctor", "--fix")
    assert cli(cfg_path, "reconcile").exit_code == 0
    company = next(int(k.split(":")[1]) for k in links(config) if k.startswith("company:"))
    phones = b24.call("crm.company.get", {"id": company})["PHONE"]
    b24.call("crm.company.update", {"id": company, "fields": {"PHONE": [{"ID": phones[0]["ID"],
                                                                         "VALUE": "+7 495 111-22-33"}]}})
    plan_file = tmp_path / "plan.json"
    assert cli(cfg_path, "reconcile", "--dry-run", "--plan-out", str(plan_file)).exit_code == 0
    assert oct(plan_file.stat().st_mode & 0o777) == "0o600"
    target = links(config)[f"company:{company}"]
    onec.update(CP, target, {"НаименованиеПолное": "Изменено в 1С после плана"})
    result = cli(cfg_path, "apply", str(plan_file))
    assert result.exit_code == 5, result.output
    assert target in result.output and "DataVersion" in result.output
    assert onec.get(CP, target)["НаименованиеПолное"] == "Изменено в 1С после плана"


def test_a_1c_create_refused_by_its_business_rules_leaves_no_partner_behind(world):
    """UT refuses a counterparty (500/-1 from ``ПередЗаписью``): the partner made for it just before is removed."""
    sandbox, cfg_path, config, b24, onec = world
    cli(cfg_path, "doctor", "--fix")
    store = sandbox.onec.store
    rules = store.rules

    class RefuseOne:
        def before_write(self, entity_set, record, is_new, store):
            if entity_set == CP and record.get("Description") == "ООО «Отказ»":
                raise business_error("Контрагент с таким наименованием запрещён")
            rules.before_write(entity_set, record, is_new, store)

        def before_post(self, entity_set, record, store):
            rules.before_post(entity_set, record, store)

    store.rules = RefuseOne()
    company = b24.call("crm.company.add", {"fields": {"TITLE": "ООО «Отказ»"}})
    b24.call("crm.requisite.add", {"fields": {"ENTITY_TYPE_ID": 4, "ENTITY_ID": company, "PRESET_ID": 1,
                                              "NAME": "Реквизит", "RQ_INN": "7813045547", "RQ_KPP": "781301001",
                                              "RQ_COMPANY_FULL_NAME": "ООО «Отказ»"}})
    partners_before = {r["Ref_Key"] for r in onec.query("Catalog_Партнеры", select=["Ref_Key"])}
    result = cli(cfg_path, "reconcile")
    assert result.exit_code == 1, result.output
    assert "Контрагент с таким наименованием запрещён" in result.output
    new = {r["Ref_Key"]: r["Description"] for r in onec.query("Catalog_Партнеры", select=["Ref_Key", "Description"])
           if r["Ref_Key"] not in partners_before}
    used = {r["Партнер_Key"] for r in onec.query(CP, select=["Партнер_Key"])}
    assert "ООО «Отказ»" not in new.values()
    assert [name for ref, name in new.items() if ref not in used] == []  # the run's other creates keep theirs
    assert not [r for r in onec.query(CP, select=["ИНН"]) if r["ИНН"] == "7813045547"]


def test_a_saved_plan_applied_twice_writes_once(world, tmp_path):
    """The journal skips an op only when the same plan did it: ``apply PLAN`` given again writes nothing."""
    sandbox, cfg_path, config, b24, onec = world
    cli(cfg_path, "doctor", "--fix")
    plan_file = tmp_path / "plan.json"
    assert cli(cfg_path, "reconcile", "--dry-run", "--plan-out", str(plan_file)).exit_code == 0
    planned = len(json.loads(plan_file.read_text(encoding="utf-8"))["operations"])
    assert planned > 0
    assert cli(cfg_path, "apply", str(plan_file)).exit_code == 0
    sandbox.bitrix24.request_log.clear()
    onec_before = len(sandbox.onec.request_log)
    again = cli(cfg_path, "apply", str(plan_file))
    assert again.exit_code == 0, again.output
    assert f"{planned} already done earlier" in again.output
    assert sandbox.bitrix24.request_log.writes == []
    assert not [r for r in list(sandbox.onec.request_log)[onec_before:] if r.method != "GET"]


@pytest.mark.parametrize("seed", [11, 23])
def test_a_kill_during_apply_leaves_no_duplicate_and_loses_nothing(world, seed):
    sandbox, cfg_path, config, b24, onec = world
    cli(cfg_path, "doctor", "--fix")
    sandbox.bitrix24.request_log.clear()
    sandbox.bitrix24.faults.add(None, "slow_after_commit", count=10_000, delay=0.15)
    writes_at_kill = random.Random(seed).randint(1, 6)
    proc = subprocess.Popen([sys.executable, "-m", "b24sync", "--config", str(cfg_path), "reconcile"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **WIDE})
    deadline = time.monotonic() + 60
    while len(sandbox.bitrix24.request_log.writes) < writes_at_kill and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    journal = dict(State(config.state_path).db.execute(
        "select status, count(*) from journal group by status").fetchall())
    assert journal.get("done", 0) > 0 and journal.get("pending", 0) + journal.get("sending", 0) > 0, journal
    sandbox.bitrix24.faults.clear()
    again = cli(cfg_path, "reconcile")
    assert again.exit_code == 0, again.output
    leftover = plan_of(cfg_path)["operations"]
    assert leftover == [], [(o["target"], o["key"], o["fields"]) for o in leftover]
    for entity in ("company", "contact"):
        origins = Counter(r["ORIGIN_ID"] for r in export_all(b24, entity, select=["ID", "ORIGIN_ID"]) if r["ORIGIN_ID"])
        assert max(origins.values()) == 1
    inns = Counter(r["ИНН"] for r in onec.query(CP, select=["ИНН"]) if r["ИНН"])
    planted_1c_dups = sum(1 for p in sandbox.onec_planted if p.kind == "onec_duplicate_inn")
    assert sum(v - 1 for v in inns.values() if v > 1) <= planted_1c_dups + 2  # seeded twins and branches only
    state = State(config.state_path)
    assert state.db.execute("select count(*) from journal where status = 'sending'").fetchone()[0] == 0


def test_losing_the_state_file_creates_no_duplicates(world):
    sandbox, cfg_path, config, b24, onec = world
    cli(cfg_path, "doctor", "--fix")
    assert cli(cfg_path, "reconcile").exit_code == 0
    counts = (len(export_all(b24, "company", select=["ID"])), len(onec.query(CP, select=["Ref_Key"])))
    for suffix in ("", "-wal", "-shm"):
        path = type(config.state_path)(str(config.state_path) + suffix)
        if path.exists():
            path.unlink()
    plan = plan_of(cfg_path)
    assert not [op for op in plan["operations"] if op["action"] == "create"]
    reported = {i["reason"] for i in plan["issues"]} | {c["reason"] for c in plan["conflicts"]}
    assert reported & {"deletion_marked", "record_deleted"}, reported  # reported, not propagated
    assert cli(cfg_path, "reconcile").exit_code == 0
    assert (len(export_all(b24, "company", select=["ID"])), len(onec.query(CP, select=["Ref_Key"]))) == counts
    assert plan_of(cfg_path)["operations"] == []


def test_counterparties_written_through_the_http_service(world):
    sandbox, cfg_path, config, b24, onec = world
    text = cfg_path.read_text(encoding="utf-8") + '\n[onec.write_via]\ncounterparty = "http_service"\n'
    cfg_path.write_text(text, encoding="utf-8")
    cli(cfg_path, "doctor", "--fix")
    before = len(sandbox.onec.request_log)
    result = cli(cfg_path, "reconcile")
    assert result.exit_code == 0, result.output
    puts = [r for r in list(sandbox.onec.request_log)[before:] if r.method == "PUT"]
    assert puts and all("/hs/b24sync/v1/counterparties/" in r.path for r in puts)
    stamped = [r for r in export_all(b24, "company", select=["ID", "UF_CRM_1C_ID"]) if r["UF_CRM_1C_ID"]]
    assert stamped and all(onec.get(CP, r["UF_CRM_1C_ID"]) is not None for r in stamped)
    leftover = plan_of(cfg_path)["operations"]
    assert leftover == [], [(o["target"], o["key"], o["fields"]) for o in leftover]


def test_status_shows_runs_links_and_journal(world):
    sandbox, cfg_path, config, *_ = world
    assert "No state yet" in cli(cfg_path, "status").output
    cli(cfg_path, "doctor", "--fix")
    assert cli(cfg_path, "reconcile").exit_code == 0
    shown = cli(cfg_path, "status")
    assert shown.exit_code == 0
    assert "linked pairs" in shown.output and "done" in shown.output and "reconcile" in shown.output


def test_only_and_csv(world):
    sandbox, cfg_path, config, *_ = world
    cli(cfg_path, "doctor", "--fix")
    contacts = plan_of(cfg_path, "--only", "contacts")
    assert contacts["operations"] and {op["entity"] for op in contacts["operations"]} <= {"contact", "counterparty"}
    assert all(op["key"].get("b24_key") in (None, "") or op["key"]["b24_key"].startswith("contact:")
               for op in contacts["operations"])
    result = cli(cfg_path, "reconcile", "--dry-run", "--format", "csv")
    lines = result.stdout.splitlines()
    assert lines[0].startswith("op_id,action,target,entity") and len(lines) > 1
    assert cli(cfg_path, "reconcile", "--only", "payments").exit_code == 2


def test_incremental_and_full_plan_the_same_changes(world):
    sandbox, cfg_path, config, b24, onec = world
    cli(cfg_path, "doctor", "--fix")
    assert cli(cfg_path, "reconcile").exit_code == 0
    linked = links(config)
    companies = sorted(int(k.split(":")[1]) for k in linked if k.startswith("company:"))
    for cid in companies[:3]:
        phones = b24.call("crm.company.get", {"id": cid}).get("PHONE") or []
        if phones:
            b24.call("crm.company.update", {"id": cid, "fields": {"PHONE": [{"ID": phones[0]["ID"], "DELETE": "Y"}]}})
    onec.update(CP, linked[f"company:{companies[4]}"], {"КПП": "770145001"})
    mark = len(sandbox.onec.request_log)
    incremental = plan_of(cfg_path)
    incremental_reads = len(sandbox.onec.request_log) - mark
    prepared_full = len(sandbox.onec.request_log)
    full = plan_of(cfg_path, "--full")
    full_reads = len(sandbox.onec.request_log) - prepared_full
    assert incremental_reads <= full_reads + 2  # the scan + a fetch of changed refs, not a full read
    from b24sync.pipeline import prepare
    from b24sync.reconcile import clients

    b24_client, onec_client, _ = clients(config)
    assert prepare(config, State(config.state_path), b24_client, onec_client).full is False  # really incremental
    key = lambda p: sorted((o["action"], o["target"], json.dumps(o["key"], sort_keys=True),  # noqa: E731
                            json.dumps(o["fields"], sort_keys=True, ensure_ascii=False)) for o in p["operations"])
    assert incremental["operations"] and key(incremental) == key(full)
