"""R16: random hand edits on both sides interleaved with reconciles, as a hypothesis state machine.

Each example starts its own small seeded sandbox (a Bitrix24 portal and a 1C base over loopback,
``SIZE`` parties, seed 0–7), runs ``doctor --fix`` and a first reconcile, then up to ``STEPS`` steps:

* owner edits — a phone or an e-mail of a company or contact changed in Bitrix24 (sometimes to an
  unreadable value), a phone deleted in Bitrix24 (with none left the clearing is not propagated:
  ``allow_clear`` is off), the KPP or the INN of a legal counterparty changed in 1C;
* non-owner edits — a phone changed in 1C, the KPP or the INN changed on the Bitrix24 requisite;
* new records — a contact with an e-mail (maybe shared) in Bitrix24, a legal counterparty in 1C
  (a fresh INN, a branch of an existing INN, or a duplicate of one);
* ``reconcile`` (plan and apply, incremental) and ``reconcile_full`` (``--full``).

After every reconcile, and after a last one when the example ends, the model checks:

1. the owner's value holds on both sides of every linked pair: phones and e-mails as normalized
   sets equal to Bitrix24's, INN and KPP equal to 1C's (an owner's *empty* value is not propagated,
   docs/reconciliation.md §3; fields a conflict of the run holds back are skipped);
2. every non-owner edit away from the last agreed value and from the owner's value is reported as
   a rejected edit (and an owner's refused clearing too);
3. links are 1:1 and stable: no 1C ref in two links, links never dropped or re-pointed, every
   link stamped (``UF_CRM_1C_ID``), no ``ORIGIN_ID`` twice per entity, every record b24sync
   created on either side is linked (so never two 1C counterparties for one Bitrix24 record), and
   new records with an unambiguous key (a unique e-mail, a unique INN and INN+KPP) are linked;
4. the apply had nothing failed or stale, and a dry run right after (in the other read mode:
   full after an incremental apply and vice versa) plans 0 operations.

``B24SYNC_PROPERTY_EXAMPLES`` sets the number of examples (default: ``EXAMPLES`` below, for CI);
a longer run: ``B24SYNC_PROPERTY_EXAMPLES=200 pytest tests/property``. Shrunk counterexamples are
kept in ``tests/property/regressions/`` and replayed first on the next run. The phones, e-mails and
INNs are normalized here by the test's own code, not by ``b24sync.recon.normalize``.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule
from stdnum.ru import inn as ru_inn

from b24sync.config import Config, load_config
from b24sync.doctor import run_doctor
from b24sync.http.ratelimit import LeakyBucket
from b24sync.reconcile import run_reconcile
from b24sync.sandbox.run import start_sandbox
from b24sync.sources.bitrix24.client import Bitrix24Client
from b24sync.sources.bitrix24.read import export_all
from b24sync.sources.onec.client import OneCClient
from b24sync.sources.onec.contactinfo import phone_row
from b24sync.state import State

CP = "Catalog_Контрагенты"
FLOWS = {"companies", "contacts"}  # the counterparty flows only: documents are not part of this model
SIZE = 24
EXAMPLES = int(os.environ.get("B24SYNC_PROPERTY_EXAMPLES", "3"))  # ~30 s for tests/property in CI
STEPS = 8
REGRESSIONS = Path(__file__).parent / "regressions"
# What the model allows (docs/reconciliation.md, "Matching"): a run matches on the values it read at
# its start, so a record a conflict held back is matched by the run *after* the one whose writes freed
# its key (such a run makes the next one match in full). Such records ("held") need not be linked yet,
# and the create/link ops a dry run plans for them do not count against convergence. The bugs this
# model found are kept as regressions in test_found_by_the_model.py.
B24_OWNED, ONEC_OWNED = ("phones", "emails"), ("inn", "kpp")


# --- the oracle's own normalization (independent of b24sync.recon.normalize) ---------------------
def e164(text: Any) -> str | None:
    """A valid phone number as E.164, else ``None`` (an unreadable value is ignored, never deleted)."""
    if not text or not str(text).strip():
        return None
    try:
        number = phonenumbers.parse(str(text), "RU")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def email(text: Any) -> str | None:
    if not text or not str(text).strip():
        return None
    try:
        validate_email(str(text).strip(), check_deliverability=False)
    except EmailNotValidError:
        return None
    return str(text).strip().lower()


def values(raw: list[Any], fn: Any) -> frozenset[str]:
    return frozenset(v for v in map(fn, raw) if v)


# --- strategies -----------------------------------------------------------------------------------
PHONE_FORMATS = ("+7 ({a}) {b}-{c}-{d}", "8 ({a}) {b}-{c}-{d}", "8{a}{b}{c}{d}", "+7{a}{b}{c}{d}",
                 "({a}) {b}-{c}-{d}", "8-{a}-{b}-{c}-{d}", "+7 {a} {b} {c} {d}", "8 ({a}) {b}-{c}-{d} доб. 12")


@st.composite
def phones(draw: Any, readable_only: bool = False) -> str:
    """A Russian phone in one of the usual spellings; now and then an unreadable one (``внутр. 204``)."""
    if not readable_only and draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(("внутр. 204", "звонить секретарю", "12-34")))
    area = draw(st.sampled_from(("495", "499", "812", "343", "916", "903", "985")))
    n = draw(st.integers(0, 9_999_999))
    local = f"{n:07d}"
    text = draw(st.sampled_from(PHONE_FORMATS)).format(a=area, b=local[:3], c=local[3:5], d=local[5:])
    assert e164(text), text
    return text


@st.composite
def emails(draw: Any) -> str:
    """A valid e-mail from a small pool (so two records now and then share one), in any letter case."""
    local = draw(st.sampled_from(("anna", "ivan.petrov", "olga", "yaroslava")))
    domain = draw(st.sampled_from(("example.ru", "Почта.рф", "MAIL.RU", "ёлка.рф")))
    text = f"{local}{draw(st.integers(0, 5))}@{domain}"
    return draw(st.sampled_from((text, text.upper(), text.title(), f"  {text} ")))


def kpps(inn: str, taken: list[str]) -> st.SearchStrategy[str]:
    """A well-formed KPP from a small pool, or one a record with this INN already has (a collision)."""
    fresh = st.builds(lambda reason, tail: f"{inn[:4] or '7701'}{reason}{tail:03d}",
                      st.sampled_from(("01", "43", "45", "50")), st.integers(1, 3))
    return st.one_of(fresh, st.sampled_from(sorted(set(taken)))) if taken else fresh


def legal_inn(body: int) -> str:
    digits = f"77{body:07d}"
    return digits + ru_inn.calc_company_check_digit(digits)


PICK = st.integers(0, 1 << 16)


# --- the sandbox ------------------------------------------------------------------------------------
def fast_config(sandbox: Any, directory: Path) -> Path:
    """The sandbox's config, without client pacing (the emulator runs without limits)."""
    path = sandbox.write_config(directory / "b24sync.toml")
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("requests_per_second = 2.0", "requests_per_second = 10000.0")
                    .replace("burst = 50", "burst = 10000"), encoding="utf-8")
    return path


def make_clients(sandbox: Any, config: Config) -> tuple[Bitrix24Client, OneCClient]:
    """Clients for the test's own edits and reads (with their own bucket: not the product's)."""
    b24 = Bitrix24Client(sandbox.bitrix24.webhook_url, bucket=LeakyBucket(10000.0, 10000))
    onec = OneCClient(sandbox.onec.odata_url, sandbox.onec.user, sandbox.onec.password,
                      server_tz=config.onec.tzinfo())
    return b24, onec



# --- reading both sides -----------------------------------------------------------------------------
@dataclass
class Snapshot:
    """What both systems hold now, normalized by the oracle."""

    b24: dict[str, dict[str, Any]] = field(default_factory=dict)  # company:42 / contact:7 → values
    onec: dict[str, dict[str, Any]] = field(default_factory=dict)  # Ref_Key → values
    links: dict[str, str] = field(default_factory=dict)  # b24 key → Ref_Key (the state table)


def read_b24(b24: Bitrix24Client) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    requisites: dict[int, dict[str, Any]] = {}
    rows = export_all(b24, "requisite", select=["ID", "ENTITY_TYPE_ID", "ENTITY_ID", "RQ_INN", "RQ_KPP", "SORT",
                                                "ACTIVE"], filters={"ENTITY_TYPE_ID": 4})
    for row in sorted(rows, key=lambda r: (int(r.get("SORT") or 0), int(r["ID"]))):
        if row.get("ACTIVE") in (False, "N"):
            continue
        requisites.setdefault(int(row["ENTITY_ID"]), row)  # the first active one is the one b24sync reads
    for entity in ("company", "contact"):
        for row in export_all(b24, entity, select=["ID", "PHONE", "EMAIL", "UF_CRM_1C_ID", "ORIGIN_ID",
                                                   "ORIGINATOR_ID"]):
            rq = requisites.get(int(row["ID"]), {}) if entity == "company" else {}
            out[f"{entity}:{int(row['ID'])}"] = {
                "phones": values([p.get("VALUE") for p in row.get("PHONE") or []], e164),
                "emails": values([e.get("VALUE") for e in row.get("EMAIL") or []], email),
                "inn": "".join(str(rq.get("RQ_INN") or "").split()),
                "kpp": "".join(str(rq.get("RQ_KPP") or "").split()),
                "requisite": rq.get("ID"),
                "stamp": str(row.get("UF_CRM_1C_ID") or "").lower(),
                "origin": str(row.get("ORIGIN_ID") or "").lower(),
            }
    return out


def _shown(row: dict[str, Any], column: str) -> Any:
    shown = row.get("Представление")
    return shown if shown and str(shown).strip() else row.get(column)


def read_onec(onec: OneCClient) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    select = ["Ref_Key", "DeletionMark", "ИНН", "КПП", "ЮрФизЛицо", "КонтактнаяИнформация"]
    for page in onec.iterate(CP, select=select):
        for row in page:
            ci = row.get("КонтактнаяИнформация") or []
            out[str(row["Ref_Key"]).lower()] = {
                "phones": values([_shown(r, "НомерТелефона") for r in ci if r.get("Тип") == "Телефон"], e164),
                "emails": values([_shown(r, "АдресЭП") for r in ci if r.get("Тип") == "АдресЭлектроннойПочты"],
                                 email),
                "inn": "".join(str(row.get("ИНН") or "").split()),
                "kpp": "".join(str(row.get("КПП") or "").split()),
                "kind": row.get("ЮрФизЛицо"),
                "deleted": bool(row.get("DeletionMark")),
            }
    return out


def read_links(state_path: Path) -> dict[str, str]:
    state = State(state_path)
    try:
        rows = state.links()
    finally:
        state.db.conn.close()
    onec_keys = Counter(r["onec_key"] for r in rows)
    assert max(onec_keys.values(), default=1) == 1, f"a 1C record in two links: {onec_keys.most_common(3)}"
    return {r["b24_key"]: r["onec_key"].split(":", 1)[1].lower() for r in rows}


ALL = "*"


def held_back(conflicts: Any) -> dict[str, set[str]]:
    """Record key → the fields a conflict holds back (``*``: the whole record)."""
    out: dict[str, set[str]] = {}
    for conflict in conflicts:
        name = conflict.detail.get("field") if conflict.kind == "field_undecided" else None
        for record in conflict.records:
            out.setdefault(record, set()).add(name or ALL)
    return out


def fields_of(b24_key: str) -> tuple[str, ...]:
    return B24_OWNED + (ONEC_OWNED if b24_key.startswith("company:") else ())


def owner_and_other(field_name: str, b24_values: dict[str, Any], onec_values: dict[str, Any]) -> tuple[Any, Any]:
    """(owner's value, the other side's value) of one field of a pair."""
    if field_name in B24_OWNED:
        return b24_values[field_name], onec_values[field_name]
    return onec_values[field_name], b24_values[field_name]


def step(fn: Any) -> Any:
    """Mark the machine broken while a step runs: if it raises, teardown adds no checks of its own."""
    @functools.wraps(fn)
    def run(self: ReconcileMachine, *args: Any, **kwargs: Any) -> None:
        self.step_ok = False
        fn(self, *args, **kwargs)
        self.step_ok = True
    return run


# --- the machine --------------------------------------------------------------------------------------
class ReconcileMachine(RuleBasedStateMachine):
    """Random edits on both sides, reconciles, and the rules checked after each reconcile."""

    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="b24sync-r16-"))
        self.sandbox: Any = None
        self.snapshot = Snapshot()
        self.agreed: dict[tuple[str, str], Any] = {}  # (b24 key, field) → the value both sides last held
        self.made_b24: set[str] = set()  # records this test created (so they are not b24sync's)
        self.made_onec: set[str] = set()
        self.step_ok = True  # False while a step runs and after one raised: then teardown checks nothing
        self.held: set[str] = set()  # records a conflict held back and not linked since
        self.checks = 0

    # -- fixture -------------------------------------------------------------------------------------
    @initialize(seed=st.integers(0, 7))
    @step
    def start(self, seed: int) -> None:
        self.sandbox = start_sandbox(size=SIZE, seed=seed, limits=False)
        self.config = load_config(fast_config(self.sandbox, self.tmp))
        run_doctor(self.config, fix=True)
        self.b24, self.onec = make_clients(self.sandbox, self.config)
        self.manager = self.onec.query("Catalog_Пользователи", top=1, filter="Служебный eq false")[0]["Ref_Key"]
        kinds = self.onec.query("Catalog_ВидыКонтактнойИнформации", filter="Predefined eq true",
                                select=["Ref_Key", "PredefinedDataName"])
        self.phone_kind = next(k["Ref_Key"] for k in kinds if k["PredefinedDataName"] == "ТелефонКонтрагента")
        result = run_reconcile(self.config, only=FLOWS)
        assert result.report is not None and result.report.ok, result.report
        self.snapshot = self.read()
        self.remember(self.snapshot)
        self.hold(result.plan, self.snapshot)

    def teardown(self) -> None:
        try:
            if self.sandbox is not None and self.step_ok:
                self.check_reconcile(full=False)  # every example ends with a reconcile and the checks
                event(f"reconciles checked in the example: {self.checks}")
        finally:
            if self.sandbox is not None:
                self.sandbox.stop()
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- reading -------------------------------------------------------------------------------------
    def read(self) -> Snapshot:
        return Snapshot(b24=read_b24(self.b24), onec=read_onec(self.onec), links=read_links(self.config.state_path))

    def remember(self, snap: Snapshot) -> None:
        """Agreed values: what both sides of a pair hold equal now (the baseline b24sync keeps too)."""
        for key, ref in snap.links.items():
            if key in snap.b24 and ref in snap.onec:
                for name in fields_of(key):
                    if snap.b24[key][name] == snap.onec[ref][name]:
                        self.agreed[(key, name)] = snap.b24[key][name]

    def hold(self, plan: Any, snap: Snapshot) -> None:
        """Remember the records this run's conflicts held back; forget the ones linked by now."""
        self.held |= {record for conflict in plan.conflicts for record in conflict.records}
        self.held -= set(snap.links) | {f"counterparty:{ref}" for ref in snap.links.values()}

    def touch(self, key: str) -> None:
        """A rule edited this record: the next incremental run reads it again."""
        self.held.discard(key)

    def linked(self, prefix: str = "", legal: bool = False) -> list[tuple[str, str]]:
        pairs = sorted((k, r) for k, r in self.snapshot.links.items() if k.startswith(prefix))
        if legal:
            pairs = [(k, r) for k, r in pairs if self.snapshot.onec.get(r, {}).get("kind") == "ЮрЛицо"]
        return pairs

    def kpps(self, inn: str) -> st.SearchStrategy[str]:
        taken = [v["kpp"] for v in (*self.snapshot.b24.values(), *self.snapshot.onec.values())
                 if v["inn"] == inn and v["kpp"]]
        return kpps(inn, taken)

    def inns(self) -> st.SearchStrategy[str]:
        """A fresh valid legal INN, or one a legal counterparty already has (a branch, or a duplicate)."""
        taken = sorted({v["inn"] for v in self.snapshot.onec.values() if v["kind"] == "ЮрЛицо"
                        and ru_inn.is_valid(v["inn"] or "x")})
        fresh = st.integers(0, 9_999_999).map(legal_inn)
        return st.one_of(fresh, st.sampled_from(taken)) if taken else fresh

    def b24_records(self) -> list[str]:
        return sorted(set(self.snapshot.links) | self.made_b24)

    # -- edits in Bitrix24 ---------------------------------------------------------------------------
    @precondition(lambda self: self.sandbox is not None)
    @rule(pick=PICK, phone=phones())
    @step
    def b24_change_phone(self, pick: int, phone: str) -> None:
        """Owner edit: the first phone of a company or contact changed (added if it had none)."""
        key = self.b24_records()[pick % len(self.b24_records())]
        entity, rid = key.split(":")
        current = self.b24.call(f"crm.{entity}.get", {"id": int(rid)}).get("PHONE") or []
        item = {"ID": current[0]["ID"], "VALUE": phone} if current else {"VALUE": phone, "VALUE_TYPE": "WORK"}
        self.b24.call(f"crm.{entity}.update", {"id": int(rid), "fields": {"PHONE": [item]}})
        self.touch(key)

    @precondition(lambda self: self.sandbox is not None)
    @rule(pick=PICK, address=emails())
    @step
    def b24_change_email(self, pick: int, address: str) -> None:
        """Owner edit: the first e-mail of a company or contact changed (added if it had none)."""
        key = self.b24_records()[pick % len(self.b24_records())]
        entity, rid = key.split(":")
        current = self.b24.call(f"crm.{entity}.get", {"id": int(rid)}).get("EMAIL") or []
        item = {"ID": current[0]["ID"], "VALUE": address} if current else {"VALUE": address, "VALUE_TYPE": "WORK"}
        self.b24.call(f"crm.{entity}.update", {"id": int(rid), "fields": {"EMAIL": [item]}})
        self.touch(key)

    @precondition(lambda self: self.sandbox is not None)
    @rule(pick=PICK)
    @step
    def b24_clear_phone(self, pick: int) -> None:
        """Owner edit: one phone deleted; with none left, the clearing is not propagated (allow_clear off)."""
        with_phones = [k for k in self.b24_records() if self.snapshot.b24.get(k, {}).get("phones")]
        if not with_phones:
            return
        key = with_phones[pick % len(with_phones)]
        entity, rid = key.split(":")
        current = self.b24.call(f"crm.{entity}.get", {"id": int(rid)}).get("PHONE") or []
        if current:
            victim = current[(pick // 7) % len(current)]
            self.b24.call(f"crm.{entity}.update", {"id": int(rid), "fields": {"PHONE": [{"ID": victim["ID"],
                                                                                          "DELETE": "Y"}]}})
            self.touch(key)

    @precondition(lambda self: self.sandbox is not None and self.linked("company:", legal=True))
    @rule(pick=PICK, data=st.data())
    @step
    def b24_change_kpp(self, pick: int, data: st.DataObject) -> None:
        """Non-owner edit: the KPP on a company's requisite changed; 1C owns it, so it is reverted."""
        pairs = self.linked("company:", legal=True)
        key, ref = pairs[pick % len(pairs)]
        requisite = self.snapshot.b24.get(key, {}).get("requisite")
        if requisite is None:
            return
        kpp = data.draw(self.kpps(self.snapshot.onec[ref]["inn"]), label="kpp")
        self.b24.call("crm.requisite.update", {"id": int(requisite), "fields": {"RQ_KPP": kpp}})
        self.touch(key)

    @precondition(lambda self: self.sandbox is not None)
    @rule(address=emails(), name=st.sampled_from(("Ярослава Ёлкина", "Иван Петров", "Olga Smirnova")),
          phone=st.none() | phones(readable_only=True))
    @step
    def b24_add_contact(self, address: str, name: str, phone: str | None) -> None:
        """A new person in Bitrix24 with an e-mail (and maybe a phone): created in 1C unless the e-mail is shared."""
        first, last = name.split()
        fields: dict[str, Any] = {"NAME": first, "LAST_NAME": last, "EMAIL": [{"VALUE": address, "VALUE_TYPE": "WORK"}]}
        if phone:
            fields["PHONE"] = [{"VALUE": phone, "VALUE_TYPE": "WORK"}]
        self.made_b24.add(f"contact:{int(self.b24.call('crm.contact.add', {'fields': fields}))}")

    # -- edits in 1C ---------------------------------------------------------------------------------
    @precondition(lambda self: self.sandbox is not None and self.linked())
    @rule(pick=PICK, phone=phones())
    @step
    def onec_change_phone(self, pick: int, phone: str) -> None:
        """Non-owner edit: a phone row of a linked counterparty changed (or added); Bitrix24 owns phones."""
        pairs = self.linked()
        _key, ref = pairs[pick % len(pairs)]
        rows = [dict(r) for r in self.onec.get(CP, ref)["КонтактнаяИнформация"]]
        phone_rows = [r for r in rows if r.get("Тип") == "Телефон"]
        if phone_rows:
            number = e164(phone) or ""
            phone_rows[0].update({"Представление": phone, "НомерТелефона": number})
        else:
            row = phone_row(self.phone_kind, e164(phone) or "+74950000000")
            row.update({"Представление": phone, "LineNumber": len(rows) + 1})
            rows.append(row)
        self.onec.update(CP, ref, {"КонтактнаяИнформация": rows})
        self.touch(f"counterparty:{ref}")

    @precondition(lambda self: self.sandbox is not None and self.linked("company:", legal=True))
    @rule(pick=PICK, data=st.data())
    @step
    def onec_change_kpp(self, pick: int, data: st.DataObject) -> None:
        """Owner edit: a legal counterparty's KPP changed in 1C; Bitrix24's requisite follows."""
        pairs = self.linked("company:", legal=True)
        _key, ref = pairs[pick % len(pairs)]
        kpp = data.draw(self.kpps(self.snapshot.onec[ref]["inn"]), label="kpp")
        self.onec.update(CP, ref, {"КПП": kpp})
        self.touch(f"counterparty:{ref}")

    @precondition(lambda self: self.sandbox is not None and self.linked("company:", legal=True))
    @rule(pick=PICK, data=st.data())
    @step
    def onec_change_inn(self, pick: int, data: st.DataObject) -> None:
        """Owner edit: a legal counterparty's INN corrected in 1C (fresh, or another counterparty's INN)."""
        pairs = self.linked("company:", legal=True)
        _key, ref = pairs[pick % len(pairs)]
        self.onec.update(CP, ref, {"ИНН": data.draw(self.inns(), label="inn")})
        self.touch(f"counterparty:{ref}")

    @precondition(lambda self: self.sandbox is not None and self.linked("company:", legal=True))
    @rule(pick=PICK, data=st.data())
    @step
    def b24_change_inn(self, pick: int, data: st.DataObject) -> None:
        """Non-owner edit: the INN on a company's requisite changed; 1C owns it, so it is reverted."""
        pairs = self.linked("company:", legal=True)
        key, _ref = pairs[pick % len(pairs)]
        requisite = self.snapshot.b24.get(key, {}).get("requisite")
        if requisite is not None:
            inn = data.draw(self.inns(), label="inn")
            self.b24.call("crm.requisite.update", {"id": int(requisite), "fields": {"RQ_INN": inn}})
            self.touch(key)

    @precondition(lambda self: self.sandbox is not None)
    @rule(data=st.data(), phone=st.none() | phones(readable_only=True))
    @step
    def onec_add_counterparty(self, data: st.DataObject, phone: str | None) -> None:
        """A new legal counterparty in 1C (a fresh INN, or a branch: an existing INN with its own KPP)."""
        inn = data.draw(self.inns(), label="inn")
        kpp = data.draw(self.kpps(inn), label="kpp")
        partner = self.onec.create("Catalog_Партнеры", {"Description": f"Партнёр {inn}", "ЮрФизЛицо": "Компания",
                                                        "ОсновнойМенеджер_Key": self.manager})
        values_: dict[str, Any] = {"Description": f"Северный ветер {kpp}", "НаименованиеПолное": f"ООО «Ветер {kpp}»",
                                   "ИНН": inn, "КПП": kpp, "ЮрФизЛицо": "ЮрЛицо", "Партнер_Key": partner["Ref_Key"]}
        if phone:
            values_["КонтактнаяИнформация"] = [{**phone_row(self.phone_kind, e164(phone)), "LineNumber": 1}]
        self.made_onec.add(str(self.onec.create(CP, values_)["Ref_Key"]).lower())

    # -- reconcile -----------------------------------------------------------------------------------
    @precondition(lambda self: self.sandbox is not None)
    @rule()
    @step
    def reconcile(self) -> None:
        """Plan and apply (incremental), then check; the dry run that follows reads in full."""
        self.check_reconcile(full=False)

    @precondition(lambda self: self.sandbox is not None)
    @rule()
    @step
    def reconcile_full(self) -> None:
        """Plan and apply with --full, then check; the dry run that follows is incremental."""
        self.check_reconcile(full=True)

    def check_reconcile(self, *, full: bool) -> None:
        self.checks += 1
        before, previous = self.read(), self.snapshot
        result = run_reconcile(self.config, full=full, only=FLOWS)
        report = result.report
        assert report is not None and report.ok, (
            f"apply failed: {[(op.target, dict(op.key), why) for op, why in report.failed + report.stale]}")
        after = self.read()
        assert report.skipped == 0, "a fresh plan's op was skipped as done by an earlier run"
        conflicted = held_back(result.plan.conflicts)
        for op in result.plan.operations:
            event(f"planned: {op.action} {op.target} {op.entity} {'+'.join(sorted(op.fields))}")
        for edit in result.plan.rejected_edits:
            event(f"rejected edit: {edit.field} {edit.reason}")
        linked_keys = set(before.links) | {f"counterparty:{r}" for r in before.links.values()}
        for conflict in result.plan.conflicts:
            if linked_keys & set(conflict.records):
                event(f"conflict on a linked pair: {conflict.kind} {conflict.reason}")
        self.check_owners(after, conflicted)
        self.check_rejected(before, previous, result.plan, conflicted)
        self.check_links(after, previous, conflicted)
        self.hold(result.plan, after)
        dry = run_reconcile(self.config, dry_run=True, full=not full, only=FLOWS)  # the other read mode
        left = [op for op in dry.plan.operations if not self.late_match_op(op)]
        assert not left, "not converged, the next dry run plans: " + repr(
            [(op.action, op.target, dict(op.key), {k: dict(v) for k, v in op.fields.items()}) for op in left])
        self.snapshot = after
        self.remember(after)

    def late_match_op(self, op: Any) -> bool:
        """A dry-run op matching a held-back record one run late (allowed, see the note at the top)."""
        keys = {v for v in op.key.values() if v}
        if keys & self.held and op.action in ("create", "link"):
            event("a held-back record is matched one run late")
            return True
        return False

    # -- the invariants --------------------------------------------------------------------------------
    def pairs(self, snap: Snapshot, conflicted: dict[str, set[str]]) -> list[tuple[str, str, tuple[str, ...]]]:
        """Linked pairs present on both sides, with their fields not held back by a conflict of this run."""
        out = []
        for key, ref in sorted(snap.links.items()):
            if key not in snap.b24 or ref not in snap.onec or snap.onec[ref]["deleted"]:
                continue
            held = conflicted.get(key, set()) | conflicted.get(f"counterparty:{ref}", set())
            if ALL not in held:
                out.append((key, ref, tuple(f for f in fields_of(key) if f not in held)))
        return out

    def check_owners(self, snap: Snapshot, conflicted: dict[str, set[str]]) -> None:
        wrong = []
        for key, ref, names in self.pairs(snap, conflicted):
            for name in names:
                owner, other = owner_and_other(name, snap.b24[key], snap.onec[ref])
                if name == "inn" and not ru_inn.is_valid(owner or "x"):
                    continue  # an invalid INN is a conflict (field_undecided), never written
                if owner and owner != other:  # an empty owner value is not propagated (allow_clear off)
                    wrong.append((key, ref, name, owner, other))
        assert not wrong, f"owner's value does not hold (key, ref, field, owner, other): {wrong}"

    def check_rejected(self, before: Snapshot, previous: Snapshot, plan: Any,
                       conflicted: dict[str, set[str]]) -> None:
        """A non-owner edit away from the agreed value and from the owner's value is reported."""
        reported = {(r.b24_key, r.field) for r in plan.rejected_edits}
        missing = []
        for key, ref, names in self.pairs(before, conflicted):
            if previous.links.get(key) != ref:
                continue  # a new pair has no baseline yet
            for name in names:
                if (key, name) not in self.agreed:
                    continue
                agreed = self.agreed[(key, name)]
                owner, other = owner_and_other(name, before.b24[key], before.onec[ref])
                if name == "inn" and not ru_inn.is_valid(owner or "x"):
                    continue
                non_owner_edit = bool(owner) and other != agreed and other != owner
                refused_clear = not owner and bool(agreed) and bool(other)
                if (non_owner_edit or refused_clear) and (key, name) not in reported:
                    missing.append((key, name, "agreed", agreed, "owner", owner, "other", other))
        assert not missing, f"rejected edits not reported: {missing}"

    def check_links(self, snap: Snapshot, previous: Snapshot, conflicted: dict[str, set[str]]) -> None:
        links = snap.links
        moved = {k: (r, links.get(k)) for k, r in previous.links.items() if links.get(k) != r}
        assert not moved, f"links dropped or re-pointed: {moved}"
        unstamped = {k: (r, snap.b24[k]["stamp"]) for k, r in links.items() if k in snap.b24
                     and snap.b24[k]["stamp"] != r}
        assert not unstamped, f"linked Bitrix24 records without their UF_CRM_1C_ID: {unstamped}"
        missing = [(k, r) for k, r in links.items() if k not in snap.b24 or r not in snap.onec]
        assert not missing, f"links to records that do not exist: {missing}"
        stamped = Counter(v["stamp"] for k, v in snap.b24.items() if v["stamp"] in set(links.values()))
        assert max(stamped.values(), default=1) == 1, f"one 1C ref stamped on two records: {stamped.most_common(3)}"
        for entity in ("company", "contact"):
            origins = Counter(v["origin"] for k, v in snap.b24.items() if k.startswith(entity + ":") and v["origin"])
            assert max(origins.values(), default=1) == 1, f"ORIGIN_ID twice on {entity}: {origins.most_common(3)}"
        linked_refs = set(links.values())
        new_onec = set(snap.onec) - set(self.snapshot.onec) - self.made_onec
        assert new_onec <= linked_refs, f"1C counterparties created by b24sync but linked to nothing: " \
                                        f"{sorted(new_onec - linked_refs)}"
        new_b24 = set(snap.b24) - set(self.snapshot.b24) - self.made_b24
        unlinked = {k for k in new_b24 if k not in links or snap.b24[k]["origin"] != links[k]}
        assert not unlinked, f"Bitrix24 records created by b24sync but not linked to their origin: {unlinked}"
        # new records carrying an unambiguous key are linked
        people = Counter(e for k, v in snap.b24.items() if k.startswith("contact:") for e in v["emails"])
        people.update(e for v in snap.onec.values() if v["kind"] == "ФизЛицо" and not v["deleted"]
                      for e in v["emails"])
        exempt = self.held
        lonely = [k for k in self.made_b24 if k not in links and k in snap.b24 and k not in conflicted
                  and k not in exempt and snap.b24[k]["emails"] and all(people[e] == 1 for e in snap.b24[k]["emails"])]
        assert not lonely, f"new contacts with a unique e-mail left unlinked: {lonely}"
        inn_kpp = Counter((v["inn"], v["kpp"]) for k, v in snap.b24.items() if v["inn"])
        inn_kpp.update((v["inn"], v["kpp"]) for v in snap.onec.values() if v["inn"] and not v["deleted"])
        inns = Counter(v["inn"] for v in snap.onec.values() if v["inn"] and not v["deleted"])
        lonely = [r for r in self.made_onec if r not in linked_refs
                  and not {f"counterparty:{r}"} & (set(conflicted) | exempt)
                  and inn_kpp[(snap.onec[r]["inn"], snap.onec[r]["kpp"])] == 1 and inns[snap.onec[r]["inn"]] == 1]
        assert not lonely, f"new counterparties with a unique INN left unlinked: {lonely}"


ReconcileMachine.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    deadline=None,
    database=DirectoryBasedExampleDatabase(str(REGRESSIONS)),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
# generous: a new failure is shrunk too, and that takes minutes with a sandbox per example
TestReconcileMachine = pytest.mark.timeout(600 + 40 * EXAMPLES)(ReconcileMachine.TestCase)
