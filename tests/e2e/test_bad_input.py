"""The bad-input corpus (``tests/fixtures/bad_input/*.json``) end to end through the CLI.

Every case of every fixture file is loaded into one fresh, empty sandbox (cases use their own
INNs and e-mails, so they cannot meet), then ``reconcile --dry-run`` saves a plan, records named
by a case's ``vanish`` disappear, the saved plan is applied with ``apply`` (exit 0, or the documented
code a vanished record causes: 5 stale, 1 refused) and ``reconcile --dry-run`` must plan nothing more;
then ``reconcile`` and one more dry run, which must plan nothing either. Each case then gets its own
test: no crash, the expected
outcome (a pair whose values agree on both sides, or an issue / conflict naming the record and
the field) and no partial write anywhere.

A fixture file is a JSON list of cases::

    {"id": "…", "about": "what is bad and why it matters",
     "bitrix24": [{"as": "a", "company": {…crm.company.add fields…},
                   "requisite": {…crm.requisite.add fields…}, "address": {…crm.address.add fields…}},
                  {"as": "p", "contact": {…crm.contact.add fields…}}],
     "onec": [{"as": "k", "counterparty": {…Catalog_Контрагенты…}, "contact_info": [{"Вид": "ТелефонКонтрагента",
               "Представление": "…"}], "partner": true, "load_mode": false}],
     "vanish": {"record": "a", "when": "after_dry_run" | "during_apply" | "during_dry_run"},
     "known_bug": "what is wrong and where the fix belongs (the case is a strict xfail until fixed)",
     "expect": [{"outcome": "synced", "record": "a", "partner": "k", "values": {"inn": "…"},
                 "onec": {"ИНН": "…"}, "bitrix24": {"RQ_INN": "…"}},
                {"outcome": "issue", "record": "a", "field": "phones", "reason": "invalid_phone", "when": "first"},
                {"outcome": "conflict", "records": ["a", "b"], "kind": "duplicate_inn", "reason": "same_kpp"},
                {"outcome": "not_created", "record": "a"},
                {"outcome": "vanished", "record": "a", "apply_exit": 5}]}

Issues and conflicts are looked for in the first and the final plan (``when``: ``first``/``final``
for one of them). A string value may be written ``{"repeat": "Ab", "times": 5000, "prefix": "", "suffix": ""}``.
Bitrix24 records are added through its REST API, 1C records through OData, or with ``load_mode``
straight into the emulator's store in load mode (as an exchange writes, bypassing the configuration's
checks); ``partner: false`` leaves ``Партнер_Key`` empty (load mode only).
Add a case whenever a bug is found: the tests below pick it up.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from b24sync import messages
from b24sync.cli import app
from b24sync.config import load_config
from b24sync.extract import extract_bitrix24, extract_onec
from b24sync.recon import model as md
from b24sync.recon.normalize import normalize_bitrix24, normalize_onec
from b24sync.sandbox.bitrix24.methods.records import ENTITIES, delete_cascade
from b24sync.sandbox.onec.ut115 import CI_KIND_SET
from b24sync.sandbox.run import start_sandbox
from b24sync.sandbox.seed import SeedSpec
from b24sync.sources.bitrix24.client import Bitrix24Client
from b24sync.sources.bitrix24.read import export_all
from b24sync.sources.onec.client import OneCClient
from b24sync.state import State

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "bad_input"
CP, PARTNERS = "Catalog_Контрагенты", "Catalog_Партнеры"
EMPTY = SeedSpec(legal_entities=0, sole_proprietors=0, individuals=0, deals=0, leads=0, anomalies=False)
OUTCOMES = {"synced", "issue", "conflict", "not_created", "vanished"}
VANISH = {"after_dry_run", "during_apply", "during_dry_run"}
CI_TYPES = {"ТелефонКонтрагента": "Телефон", "EmailКонтрагента": "АдресЭлектроннойПочты",
            "ЮрАдресКонтрагента": "Адрес", "ФаксКонтрагента": "Факс", "ФактАдресКонтрагента": "Адрес"}
PARTNER_KIND = {"ФизЛицо": "ЧастноеЛицо"}
COMPANY_FIELDS = ("inn", "kpp", "full_name", "phones", "emails", "legal_address")
CONTACT_FIELDS = ("phones", "emails")
SEVERITY = {0: 0, 5: 1, 1: 2}  # one apply for the whole corpus: a failure outranks a stale operation
runner = CliRunner()


# --- the corpus ---------------------------------------------------------------------------------------
def _expand(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) >= {"repeat", "times"} and set(value) <= {"repeat", "times", "prefix", "suffix"}:
            return value.get("prefix", "") + value["repeat"] * value["times"] + value.get("suffix", "")
        return {k: _expand(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v) for v in value]
    return value


def load_corpus() -> list[dict[str, Any]]:
    cases = []
    for path in sorted(CORPUS.glob("*.json")):
        for case in json.loads(path.read_text(encoding="utf-8")):
            cases.append({**_expand(case), "name": f"{path.stem}/{case['id']}"})
    return cases


CASES = load_corpus()


def _aliases(case: dict[str, Any]) -> dict[str, str]:
    """alias → side (``bitrix24``/``onec``)."""
    return {**{r["as"]: md.B24 for r in case.get("bitrix24", [])}, **{r["as"]: md.ONEC for r in case.get("onec", [])}}


def _touches(op: dict[str, Any], keys: set[str]) -> bool:
    return bool({op["key"].get("b24_key"), op["key"].get("onec_key")} & keys)


def _named(entry: dict[str, Any]) -> list[str]:
    return [*([entry["record"]] if "record" in entry else []), *entry.get("records", []),
            *([entry["partner"]] if "partner" in entry else [])]


def test_the_corpus_is_well_formed():
    assert CASES, f"no cases in {CORPUS}"
    names = Counter(c["name"] for c in CASES)
    assert max(names.values()) == 1, [n for n, k in names.items() if k > 1]
    reasons = set(messages.RECON_ISSUES) | set(messages.RECON_CONFLICTS)
    owners: dict[str, set[str]] = {}
    for case in CASES:
        aliases = _aliases(case)
        assert len(aliases) == len(case.get("bitrix24", [])) + len(case.get("onec", [])), case["name"]
        covered = set()
        for entry in case["expect"]:
            assert entry["outcome"] in OUTCOMES, (case["name"], entry)
            assert set(_named(entry)) <= set(aliases) and _named(entry), (case["name"], entry)
            covered |= set(_named(entry))
            if entry["outcome"] in ("issue", "conflict"):
                assert entry["reason"] in reasons, (case["name"], entry["reason"])
            assert entry["outcome"] != "issue" or "field" in entry, (case["name"], entry)
            assert entry.get("when", "first") in ("first", "final"), (case["name"], entry)
            assert entry.get("apply_exit", 0) in SEVERITY, (case["name"], entry)
        assert covered == set(aliases), f"{case['name']}: every record needs an expected outcome"
        vanish = case.get("vanish")
        vanished = {e["record"] for e in case["expect"] if e["outcome"] == "vanished"}
        assert vanished == ({vanish["record"]} if vanish else set()), case["name"]
        if vanish:
            assert vanish["when"] in VANISH, case["name"]
            assert vanish["when"] != "during_dry_run" or aliases[vanish["record"]] == md.B24, case["name"]
        for rec in case.get("onec", []):
            assert rec.get("partner", True) or rec.get("load_mode"), f"{case['name']}: 1C requires a partner"
        # cases must not meet: an INN or an e-mail belongs to one case only
        for value in _keys_of(case):
            owners.setdefault(value, set()).add(case["name"])
    shared = {v: sorted(n) for v, n in owners.items() if len(n) > 1}
    assert not shared, f"cases would interfere through {shared}"


def _keys_of(case: dict[str, Any]) -> set[str]:
    out = set()
    for rec in case.get("bitrix24", []):
        inn = (rec.get("requisite") or {}).get("RQ_INN")
        if inn:
            out.add("inn:" + "".join(str(inn).split()))
        for item in (rec.get("company") or rec.get("contact") or {}).get("EMAIL", []):
            out.add("email:" + str(item["VALUE"]).strip().lower())
    for rec in case.get("onec", []):
        inn = rec["counterparty"].get("ИНН")
        if inn:
            out.add("inn:" + "".join(str(inn).split()))
        for row in rec.get("contact_info", []):
            if row["Вид"] == "EmailКонтрагента":
                out.add("email:" + str(row.get("АдресЭП") or row.get("Представление")).strip().lower())
    return out


# --- one run over the whole corpus ----------------------------------------------------------------------
@dataclass
class Run:
    keys: dict[tuple[str, str], str] = field(default_factory=dict)  # (case, alias) → company:1 / counterparty:…
    test_made: set[str] = field(default_factory=set)  # 1C refs of counterparties and partners the test wrote
    no_partner: set[str] = field(default_factory=set)
    gone: set[str] = field(default_factory=set)  # keys that vanished on purpose
    results: dict[str, Any] = field(default_factory=dict)
    plans: dict[str, dict[str, Any]] = field(default_factory=dict)
    b24: Any = None
    onec: Any = None
    links: dict[str, str] = field(default_factory=dict)
    store: Any = None  # the 1C emulator's store

    def key(self, case: dict[str, Any], alias: str) -> str:
        return self.keys[(case["name"], alias)]


def _known_bug_keys(run: Run) -> set[str]:
    return {run.key(c, alias) for c in CASES if c.get("known_bug") for alias in _aliases(c)}


def _cli(cfg: Path, *args: str):
    return runner.invoke(app, ["--config", str(cfg), *args], env={"COLUMNS": "250"})


def _plan(cfg: Path, *extra: str) -> tuple[Any, dict[str, Any]]:
    result = _cli(cfg, "reconcile", "--dry-run", "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    return result, json.loads(result.stdout)


def _add_bitrix24(b24: Bitrix24Client, rec: dict[str, Any]) -> str:
    if "contact" in rec:
        return f"contact:{b24.call('crm.contact.add', {'fields': rec['contact']})}"
    company = b24.call("crm.company.add", {"fields": rec["company"]})
    if "requisite" in rec:
        requisite = b24.call("crm.requisite.add", {"fields": {
            "ENTITY_TYPE_ID": 4, "ENTITY_ID": company, "PRESET_ID": 1, "NAME": "Организация", **rec["requisite"]}})
        if "address" in rec:
            b24.call("crm.address.add", {"fields": {"TYPE_ID": 6, "ENTITY_TYPE_ID": 8, "ENTITY_ID": requisite,
                                                    **rec["address"]}})
    return f"company:{company}"


def _add_onec(sandbox, onec: OneCClient, rec: dict[str, Any], manager: str, run: Run) -> str:
    values = dict(rec["counterparty"])
    load_mode = bool(rec.get("load_mode"))
    if rec.get("partner", True):
        partner = {"Description": values.get("Description") or "Партнёр",
                   "ЮрФизЛицо": PARTNER_KIND.get(values.get("ЮрФизЛицо"), "Компания"), "Клиент": True,
                   "ОсновнойМенеджер_Key": manager}
        partner_ref = onec.create(PARTNERS, partner)["Ref_Key"]
        values["Партнер_Key"] = partner_ref
        run.test_made.add(partner_ref)
    rows = []
    for row in rec.get("contact_info", []):
        kind = row["Вид"]
        rows.append({"Тип": CI_TYPES[kind], "Вид_Key": sandbox.store.predefined(CI_KIND_SET, kind),
                     **{k: v for k, v in row.items() if k != "Вид"}})
    if rows:
        values["КонтактнаяИнформация"] = rows
    if load_mode:
        ref = sandbox.store.create(CP, values, load_mode=True)["Ref_Key"]
    else:
        ref = onec.create(CP, values)["Ref_Key"]
    run.test_made.add(ref)
    if not rec.get("partner", True):
        run.no_partner.add(ref)
    return f"counterparty:{ref}"


def _delete(sandbox, b24: Bitrix24Client | None, onec: OneCClient | None, key: str, *,
            internal: bool = False) -> None:
    entity, _, ident = key.partition(":")
    if entity == md.COUNTERPARTY:
        if internal:
            sandbox.store.delete(CP, ident)
        else:
            onec.delete(CP, ident)
    elif internal:  # inside the emulator's request thread: straight into its store
        store = sandbox.portal.store
        store.table(entity).delete(int(ident))
        delete_cascade(store, ENTITIES[entity], int(ident))
    else:
        b24.call(f"crm.{entity}.delete", {"id": int(ident)})


def _hooks(sandbox, run: Run, vanishing: list[tuple[str, str]], phase: str) -> None:
    """Make records disappear in the middle of a run: between list and get (dry run) or during apply."""
    b24_wanted = {key for when, key in vanishing if when == phase and not key.startswith("counterparty:")}
    onec_wanted = {key for when, key in vanishing if when == phase and key.startswith("counterparty:")}
    trigger = "crm.requisite.list" if phase == "during_dry_run" else "crm.{entity}.update"
    faults = sandbox.bitrix24.faults
    original_take = type(faults).take.__get__(faults)

    def take(methods):
        names = [m.lower() for m in methods]
        for key in sorted(b24_wanted):
            entity = key.partition(":")[0]
            if trigger.format(entity=entity) in names:
                b24_wanted.discard(key)
                _delete(sandbox, None, None, key, internal=True)
        return original_take(methods)

    faults.take = take
    app_ = sandbox.onec.app
    original_handle = type(app_).handle.__get__(app_)

    def handle(method, path, query, headers, body, root):
        for key in sorted(onec_wanted):
            ref = key.partition(":")[2]
            if method == "GET" and f"guid'{ref}'" in path:  # a get by key, after the list that found it
                onec_wanted.discard(key)
                _delete(sandbox, None, None, key, internal=True)
        return original_handle(method, path, query, headers, body, root)

    app_.handle = handle


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad_input")
    run = Run()
    with start_sandbox(spec=EMPTY, limits=False) as sandbox:
        cfg = sandbox.write_config(tmp / "b24sync.toml")
        text = cfg.read_text(encoding="utf-8")
        cfg.write_text(re.sub(r"requests_per_second = .*\nburst = .*\n", "requests_per_second = 1000.0\nburst = 1000\n",
                              text), encoding="utf-8")
        config = load_config(cfg)
        b24 = Bitrix24Client(sandbox.bitrix24.webhook_url, rate=1000.0, burst=1000)
        onec = OneCClient(sandbox.onec.odata_url, sandbox.onec.user, sandbox.onec.password,
                          server_tz=config.onec.tzinfo())
        run.store = sandbox.store
        assert _cli(cfg, "doctor", "--fix").exit_code == 0
        admin = next(u["Ref_Key"] for u in sandbox.store.records("Catalog_Пользователи")
                     if any(r.get("АдресЭП") == "admin@sandbox.example" for r in u["КонтактнаяИнформация"]))
        for case in CASES:
            for rec in case.get("bitrix24", []):
                run.keys[(case["name"], rec["as"])] = _add_bitrix24(b24, rec)
            for rec in case.get("onec", []):
                run.keys[(case["name"], rec["as"])] = _add_onec(sandbox, onec, rec, admin, run)
        vanishing = [(c["vanish"]["when"], run.key(c, c["vanish"]["record"])) for c in CASES if c.get("vanish")]
        run.gone = {key for _, key in vanishing}

        _hooks(sandbox, run, vanishing, "during_dry_run")
        plan_file = tmp / "plan.json"
        b24_writes, onec_mark = len(sandbox.bitrix24.request_log.writes), len(sandbox.onec.request_log)
        run.results["dry_run"], run.plans["first"] = _plan(cfg, "--plan-out", str(plan_file))
        run.results["dry_run_writes"] = (len(sandbox.bitrix24.request_log.writes) - b24_writes,
                                         [r for r in list(sandbox.onec.request_log)[onec_mark:] if r.is_write])
        for when, key in vanishing:
            if when == "after_dry_run":
                _delete(sandbox, b24, onec, key)
        _hooks(sandbox, run, vanishing, "during_apply")
        run.results["apply"] = _cli(cfg, "apply", str(plan_file))
        run.results["final"], run.plans["final"] = _plan(cfg)
        run.results["reconcile"] = _cli(cfg, "reconcile")
        run.results["incremental"], run.plans["incremental"] = _plan(cfg)

        b24_snap, onec_snap = extract_bitrix24(b24), extract_onec(onec)
        run.b24 = normalize_bitrix24(b24_snap.companies, b24_snap.requisites, b24_snap.addresses,
                                     b24_snap.contacts, b24_snap.users).frame.set_index("key", drop=False)
        run.onec = normalize_onec(onec_snap.counterparties, onec_snap.user_email,
                                  manager_by_ref=onec_snap.manager_by_ref,
                                  legal_address_kind=onec_snap.kinds.get("ЮрАдресКонтрагента", "")
                                  ).frame.set_index("key", drop=False)
        run.links = {row["b24_key"]: row["onec_key"] for row in State(config.state_path).links()
                     if row["onec_key"].startswith("counterparty:")}
        run.results["raw"] = _raw(sandbox, b24)
        yield run


def _raw(sandbox, b24: Bitrix24Client) -> dict[str, Any]:
    """Everything both systems hold at the end, as they hold it."""
    requisites: dict[int, list[dict[str, Any]]] = {}
    for r in export_all(b24, "requisite", filters={"ENTITY_TYPE_ID": 4}):
        requisites.setdefault(int(r["ENTITY_ID"]), []).append(r)
    addresses = {int(a["ENTITY_ID"]) for a in export_all(b24, "address", filters={"TYPE_ID": 6, "ENTITY_TYPE_ID": 8})}
    return {
        "company": {f"company:{r['ID']}": r for r in export_all(b24, "company", select=["*", "UF_*", "PHONE",
                                                                                        "EMAIL"])},
        "contact": {f"contact:{r['ID']}": r for r in export_all(b24, "contact", select=["*", "UF_*", "PHONE",
                                                                                        "EMAIL"])},
        "requisites": requisites, "addresses": addresses,
        "counterparties": {f"counterparty:{r['Ref_Key']}": r for r in sandbox.store.query(CP)},
        "partners": {r["Ref_Key"]: r for r in sandbox.store.query(PARTNERS)},
    }


# --- the whole run ---------------------------------------------------------------------------------------
def test_no_step_crashes_and_the_exit_codes_are_the_documented_ones(corpus):
    for step in ("dry_run", "final", "incremental"):
        assert corpus.results[step].exit_code == 0, corpus.results[step].output
    expected = max((e.get("apply_exit", 0) for c in CASES for e in c["expect"] if e["outcome"] == "vanished"),
                   key=SEVERITY.__getitem__, default=0)
    apply = corpus.results["apply"]
    assert apply.exit_code == expected, apply.output
    assert "Traceback" not in apply.output
    reconcile = corpus.results["reconcile"]
    assert reconcile.exit_code == 0, reconcile.output


def test_the_dry_run_writes_nothing(corpus):
    b24_writes, onec_writes = corpus.results["dry_run_writes"]
    assert b24_writes == 0 and onec_writes == []


def test_after_one_apply_nothing_is_left_to_do(corpus):
    known = _known_bug_keys(corpus)  # their own tests fail (strict xfail) while the bug is there
    for name in ("final", "incremental"):
        leftover = [o for o in corpus.plans[name]["operations"] if not _touches(o, known)]
        assert leftover == [], [(name, o["action"], o["target"], o["key"], o["fields"]) for o in leftover]


def test_no_partial_writes(corpus):
    raw = corpus.results["raw"]
    made_by_test = corpus.test_made
    partners = raw["partners"]
    used = Counter()
    for cp in raw["counterparties"].values():
        ref = cp["Ref_Key"]
        used[cp["Партнер_Key"]] += 1
        if ref not in corpus.no_partner:
            assert cp["Партнер_Key"] in partners, f"1C counterparty {ref} without its partner"
    orphans = [ref for ref in partners if ref not in made_by_test and not used[ref]]
    assert orphans == [], f"partners written without their counterparty: {orphans}"
    # every record b24sync created in Bitrix24 is whole: stamps, requisite with the source's INN, address
    for entity in ("company", "contact"):
        for key, rec in raw[entity].items():
            if rec.get("ORIGINATOR_ID") != "b24sync":
                continue
            ref = rec["ORIGIN_ID"]
            assert rec["UF_CRM_1C_ID"] == ref, key
            source = raw["counterparties"].get(f"counterparty:{ref}")
            if source is None:
                assert f"counterparty:{ref}" in corpus.gone, f"{key} was created from a 1C record nobody deleted"
                continue
            if entity == "company":
                reqs = corpus.results["raw"]["requisites"].get(int(rec["ID"]), [])
                assert len(reqs) == 1, f"{key}: {len(reqs)} requisites"
                assert reqs[0]["RQ_INN"] == "".join(source["ИНН"].split()), key
                legal = [r for r in source["КонтактнаяИнформация"] if r["Тип"] == "Адрес"
                         and r["Вид_Key"] == corpus.store.predefined(CI_KIND_SET, "ЮрАдресКонтрагента")
                         and r["Представление"].strip()]
                assert (int(reqs[0]["ID"]) in raw["addresses"]) == bool(legal), key
    # every counterparty b24sync created in 1C is stamped on its Bitrix24 record
    for b24_key, onec_key in corpus.links.items():
        ref = onec_key.partition(":")[2]
        if ref in made_by_test:
            continue
        source = raw["company"].get(b24_key) or raw["contact"].get(b24_key)
        if source is None:
            assert b24_key in corpus.gone, f"{onec_key} was created from {b24_key}, which nobody deleted"
            continue
        assert onec_key in raw["counterparties"] or onec_key in corpus.gone, onec_key
        if onec_key in raw["counterparties"]:
            assert source.get("UF_CRM_1C_ID") == ref, f"{b24_key} does not name its new 1C record {ref}"
    # no record twice on one side: one live 1C counterparty per INN that b24sync wrote
    inns = Counter("".join(cp["ИНН"].split()) for cp in raw["counterparties"].values()
                   if cp["ИНН"] and cp["Ref_Key"] not in made_by_test)
    assert not [i for i, n in inns.items() if n > 1]


# --- each case ---------------------------------------------------------------------------------------------
def _sorted(value: Any) -> Any:
    return sorted(value) if isinstance(value, list | tuple) else value


def _conflicts_naming(plan: dict[str, Any], key: str) -> list[dict[str, Any]]:
    return [c for c in plan["conflicts"] if key in c["records"] or key in map(str, c["detail"].values())]


def _check_synced(run: Run, case: dict[str, Any], entry: dict[str, Any]) -> None:
    key = run.key(case, entry["record"])
    b24_key, onec_key = (key, run.links.get(key)) if not key.startswith("counterparty:") else (
        next((b for b, o in run.links.items() if o == key), None), key)
    assert b24_key and onec_key, f"{key} has no partner: {_conflicts_naming(run.plans['final'], key)}"
    if "partner" in entry:
        assert run.key(case, entry["partner"]) in (b24_key, onec_key), (b24_key, onec_key)
    assert b24_key in run.b24.index and onec_key in run.onec.index, (b24_key, onec_key)
    b, o = run.b24.loc[b24_key], run.onec.loc[onec_key]
    fields = CONTACT_FIELDS if b24_key.startswith("contact:") else COMPANY_FIELDS
    disagree = {f: (b[f], o[f]) for f in fields if _sorted(b[f]) != _sorted(o[f])}
    assert not disagree, f"{b24_key} / {onec_key} disagree: {disagree}"
    for name, value in entry.get("values", {}).items():
        assert _sorted(b[name]) == _sorted(value) and _sorted(o[name]) == _sorted(value), (name, b[name], o[name])
    raw = run.results["raw"]
    cp = raw["counterparties"][onec_key]
    for name, value in entry.get("onec", {}).items():
        assert cp[name] == value, (onec_key, name, cp[name][:200] if isinstance(cp[name], str) else cp[name])
    entity = b24_key.partition(":")[0]
    rec = raw[entity][b24_key]
    requisite = (raw["requisites"].get(int(rec["ID"])) or [{}])[0]
    for name, value in entry.get("bitrix24", {}).items():
        if name in ("PHONE", "EMAIL"):
            actual = [v["VALUE"] for v in rec.get(name) or []]
            assert sorted(actual) == sorted(value), (b24_key, name, actual)
        else:
            actual = requisite.get(name) if name.startswith("RQ_") else rec.get(name)
            shown = actual[:200] if isinstance(actual, str) else actual
            assert actual == value or (value == "" and actual is None), (b24_key, name, shown)


def _check_not_created(run: Run, case: dict[str, Any], entry: dict[str, Any]) -> None:
    key = run.key(case, entry["record"])
    linked = run.links.get(key) or next((b for b, o in run.links.items() if o == key), None)
    assert linked is None, f"{key} was linked to {linked}"
    raw = run.results["raw"]
    if key.startswith("counterparty:"):
        ref = key.partition(":")[2]
        made = [k for e in ("company", "contact") for k, r in raw[e].items()
                if ref in (r.get("ORIGIN_ID"), r.get("UF_CRM_1C_ID"))]
        assert made == [], f"{key} was created in Bitrix24 as {made}"
    else:
        made = [k for k in raw["counterparties"] if k == f"counterparty:{md.deterministic_ref(key)}"]
        assert made == [], f"{key} was created in 1C as {made}"


def _check_reported(run: Run, case: dict[str, Any], entry: dict[str, Any]) -> None:
    keys = [run.key(case, a) for a in _named(entry)]
    plans = [entry["when"]] if "when" in entry else ["first", "final"]
    for plan_name in plans:
        plan = run.plans[plan_name]
        if entry["outcome"] == "issue":
            found = [i for i in plan["issues"] if i["record_key"] == keys[0] and i["reason"] == entry["reason"]
                     and i["field"] == entry["field"]]
            assert found, (plan_name, keys[0], [i for i in plan["issues"] if i["record_key"] == keys[0]])
        else:
            found = [c for c in plan["conflicts"] if c["reason"] == entry["reason"]
                     and c["kind"] == entry.get("kind", c["kind"])
                     and all(k in c["records"] or k in map(str, c["detail"].values()) for k in keys)]
            assert found, (plan_name, keys, [c for k in keys for c in _conflicts_naming(plan, k)])
            if "field" in entry:
                assert any(entry["field"] in c["detail"].values() for c in found), found


def _check_vanished(run: Run, case: dict[str, Any], entry: dict[str, Any]) -> None:
    key = run.key(case, entry["record"])
    entity, _, ident = key.partition(":")
    assert key not in run.b24.index and key not in run.onec.index, f"{key} is back"
    partners = [o for b, o in run.links.items() if b == key] + [b for b, o in run.links.items() if o == key]
    if len(_aliases(case)) == 1:  # planned for creation only: nothing is made from a record that vanished
        assert not partners, f"{key} vanished, yet {partners} was created from it"
    for partner in partners:  # whatever was written for it before it vanished is reported, not repeated
        assert _conflicts_naming(run.plans["final"], key), f"{key} (linked to {partner}) is not reported"
    if entry.get("apply_exit", 0):  # the apply said which record it could not write
        named = ident if entity == md.COUNTERPARTY else f"{entity} {ident}"
        lines = [ln for ln in run.results["apply"].output.splitlines() if ln.startswith("- ")]
        assert any(named in ln for ln in lines), lines


CHECKS = {"synced": _check_synced, "not_created": _check_not_created, "issue": _check_reported,
          "conflict": _check_reported, "vanished": _check_vanished}


@pytest.mark.parametrize("case", [
    pytest.param(c, id=c["name"], marks=[pytest.mark.xfail(strict=True, reason=c["known_bug"])] if c.get("known_bug")
                 else []) for c in CASES])
def test_case(corpus, case):
    for entry in case["expect"]:
        CHECKS[entry["outcome"]](corpus, case, entry)
    keys = {corpus.key(case, alias) for alias in _aliases(case)}
    for name in ("final", "incremental"):
        leftover = [o for o in corpus.plans[name]["operations"] if _touches(o, keys)]
        assert leftover == [], [(name, o["action"], o["target"], o["key"], o["fields"]) for o in leftover]
    if case.get("vanish") is None:
        for alias in _aliases(case):  # a record that is in a conflict is never written for
            key = corpus.key(case, alias)
            if _conflicts_naming(corpus.plans["first"], key) and not any(
                    e["outcome"] == "synced" and alias in _named(e) for e in case["expect"]):
                _check_not_created(corpus, case, {"record": alias})
