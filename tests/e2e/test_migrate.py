"""``b24sync migrate`` end to end: the report against what the emulators hold, then --link and --create-missing.

Every expected figure is computed here from the emulators' own stores, with this file's own simple
normalization (digits of phones, lower-case e-mails, the INN checksum of ``stdnum``), not with
b24sync's code; the CLI's CSV files and HTML are what is checked.
"""

from __future__ import annotations

import contextlib
import csv
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
from stdnum.ru import inn as stdnum_inn
from typer.testing import CliRunner

from b24sync import messages as m
from b24sync.cli import app
from b24sync.config import Config, load_config
from b24sync.i18n import t
from b24sync.sandbox.run import Sandbox, start_sandbox
from b24sync.sandbox.seed import BAD_INN_CHECKSUM, DUPLICATE_INN, SHARED_EMAIL, WRONG_INN_LENGTH
from b24sync.sources.bitrix24.client import Bitrix24Client
from b24sync.state import State

CP = "Catalog_Контрагенты"
SIZE, SEED = 200, 0
WIDE = {"COLUMNS": "200"}
EVIL = 'ООО <script>alert("взлом")</script> & «Ко»'
FORMULA = '=HYPERLINK("http://example.invalid","Нажми")'
runner = CliRunner()


@dataclass
class World:
    sandbox: Sandbox
    cfg: Path
    config: Config
    b24: Bitrix24Client


@pytest.fixture
def world(tmp_path):
    with start_sandbox(size=SIZE, seed=SEED, limits=False) as sandbox:
        cfg = sandbox.write_config(tmp_path / "b24sync.toml")
        yield World(sandbox, cfg, load_config(cfg), Bitrix24Client(sandbox.bitrix24.webhook_url))


def cli(cfg: Path, *args: str, **kwargs):
    return runner.invoke(app, ["--config", str(cfg), *args], env=WIDE, **kwargs)


# -- what the emulators hold, computed here ------------------------------------------------------------


@dataclass
class Party:
    key: str
    side: str
    cls: str  # organisation / person: the classes matching and the duplicate report keep apart
    kind: str
    inn: str = ""
    kpp: str = ""
    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    deleted: bool = False

    @property
    def inn_valid(self) -> bool:
        length = {"legal": 10, "sole_proprietor": 12, "individual": 12}.get(self.kind)
        return (stdnum_inn.is_valid(self.inn) and len(self.inn) in ((length,) if length else (10, 12))
                and bool(self.inn.strip("0")))


def phone(value: str) -> str:
    digits = "".join(c for c in value if c.isdigit())
    if len(digits) == 11 and digits[0] in "78":
        return "+7" + digits[1:]
    return "+7" + digits if len(digits) == 10 else ""


def b24_parties(sandbox: Sandbox) -> dict[str, Party]:
    store = sandbox.portal.store
    requisites: dict[int, dict] = {}
    for row in sorted(store.table("requisite").rows.values(), key=lambda r: (int(r.get("SORT") or 0), r["ID"])):
        if int(row["ENTITY_TYPE_ID"]) == 4 and row.get("ACTIVE", "Y") == "Y":
            requisites.setdefault(int(row["ENTITY_ID"]), row)
    out = {}
    for entity in ("company", "contact"):
        for ident, row in store.table(entity).rows.items():
            emails = {str(v[2]).strip().lower() for v in row.get("EMAIL") or [] if v[2]}
            phones = {phone(str(v[2])) for v in row.get("PHONE") or []} - {""}
            party = Party(f"{entity}:{ident}", "bitrix24", "person" if entity == "contact" else "organisation",
                          "individual", emails=emails, phones=phones)
            if entity == "company":
                req = requisites.get(int(ident), {})
                party.inn = str(req.get("RQ_INN") or "").strip()
                preset = int(req.get("PRESET_ID") or 0)
                party.kind = {1: "legal", 2: "sole_proprietor"}.get(preset) or {
                    10: "legal", 12: "sole_proprietor"}.get(len(party.inn), "unknown")
                party.kpp = str(req.get("RQ_KPP") or "").strip() if party.kind == "legal" else ""
            out[party.key] = party
    return out


def onec_parties(sandbox: Sandbox) -> dict[str, Party]:
    kinds = {"ЮрЛицо": "legal", "ЮрЛицоНеРезидент": "legal", "ИндивидуальныйПредприниматель": "sole_proprietor",
             "ФизЛицо": "individual"}
    out = {}
    for row in sandbox.store.records(CP):
        kind = kinds.get(row.get("ЮрФизЛицо"), "unknown")
        rows = row.get("КонтактнаяИнформация") or []
        emails = {str(r.get("АдресЭП") or r.get("Представление")).strip().lower() for r in rows
                  if r.get("Тип") == "АдресЭлектроннойПочты"}
        phones = {phone(str(r.get("НомерТелефона") or r.get("Представление"))) for r in rows
                  if r.get("Тип") == "Телефон"} - {""}
        out[f"counterparty:{row['Ref_Key']}"] = Party(
            f"counterparty:{row['Ref_Key']}", "onec", "person" if kind == "individual" else "organisation", kind,
            str(row.get("ИНН") or "").strip(), str(row.get("КПП") or "").strip() if kind == "legal" else "",
            emails, phones, bool(row.get("DeletionMark")))
    return out


def side_duplicates(parties: dict[str, Party]) -> set[tuple[str, frozenset[str]]]:
    """(basis, keys) of every group of one side's live records sharing a value; an INN only when the KPPs
    cannot tell its records apart (a KPP repeated, or one missing)."""
    by: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for p in parties.values():
        if p.deleted:
            continue
        if p.inn:
            by[("inn", p.cls, p.inn)].add(p.key)
        for e in p.emails:
            by[("email", p.cls, e)].add(p.key)
        for ph in p.phones:
            by[("phone", p.cls, ph)].add(p.key)
    out = set()
    for (basis, _cls, _value), keys in by.items():
        if len(keys) < 2:
            continue
        if basis == "inn":
            kpps = [parties[k].kpp for k in keys]
            if "" not in kpps and len(set(kpps)) == len(kpps):
                continue  # a head office and its branches
        out.add((basis, frozenset(keys)))
    return out


# -- what the CLI wrote ------------------------------------------------------------------------------


def plain(cell: str) -> str:
    if cell.startswith('="') and cell.endswith('"'):
        return cell[2:-1]
    return cell[1:] if cell.startswith("'") else cell


def read_csv(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), f"{path.name}: no BOM"
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh, delimiter=";"))


def key_of(row: dict[str, str], prefix: str = "") -> str:
    value = plain(row[prefix + t(m.MIGRATE_COL_RECORD)])
    return value if ":" in value else f"counterparty:{value}"


@dataclass
class Report:
    pairs: dict[str, tuple[str, str]]  # b24 key → (onec key, method)
    ambiguous: dict[int, set[str]]
    invalid: set[str]
    unmatched: dict[str, dict[str, bool]]  # side → key → can be created
    duplicates: set[tuple[str, str, frozenset[str]]]  # (scope, basis, keys)
    summary: dict[tuple[str, str, str], int]


def read_report(out: Path) -> Report:
    sides = {t(label): code for code, label in m.MIGRATE_SIDES.items()}
    methods = {t(label): code for code, label in m.MIGRATE_METHODS.items()}
    bases = {t(label): code for code, label in m.MIGRATE_BASES.items()}
    b24, onec = t(m.MIGRATE_SIDES["bitrix24"]), t(m.MIGRATE_SIDES["onec"])
    pairs = {}
    for row in read_csv(out / "matched.csv"):
        b_key, o_key = key_of(row, f"{b24}: "), key_of(row, f"{onec}: ")
        assert b_key not in pairs
        pairs[b_key] = (o_key, methods[row[t(m.MIGRATE_COL_METHOD)]])
    ambiguous: dict[int, set[str]] = defaultdict(set)
    for row in read_csv(out / "ambiguous.csv"):
        ambiguous[int(row[t(m.MIGRATE_COL_GROUP)])].add(key_of(row))
    invalid = {key_of(row) for row in read_csv(out / "invalid_inn.csv")}
    unmatched = {side: {key_of(row): row[t(m.MIGRATE_COL_CREATE)] == t(m.MIGRATE_YES)
                        for row in read_csv(out / name)}
                 for side, name in (("bitrix24", "only_bitrix24.csv"), ("onec", "only_1c.csv"))}
    groups: dict[int, dict] = {}
    for row in read_csv(out / "duplicates.csv"):
        group = groups.setdefault(int(row[t(m.MIGRATE_COL_GROUP)]), {
            "scope": sides[row[t(m.MIGRATE_COL_SCOPE)]], "basis": bases[row[t(m.MIGRATE_COL_BASIS)]], "keys": set()})
        group["keys"].add(key_of(row))
    summary = {(r[t(m.MIGRATE_COL_SECTION)], r[t(m.MIGRATE_COL_ITEM)], sides.get(r[t(m.MIGRATE_COL_SIDE)], "")):
               int(r[t(m.MIGRATE_COL_COUNT)]) for r in read_csv(out / "summary.csv")}
    return Report(pairs, dict(ambiguous), invalid, unmatched,
                  {(g["scope"], g["basis"], frozenset(g["keys"])) for g in groups.values()}, summary)


class Html(HTMLParser):
    """Checks nesting (every element closed, in order) and collects what the assertions need."""

    VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "source", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: Counter[str] = Counter()
        self.attrs: list[tuple[str, str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags[tag] += 1
        self.attrs += [(tag, k, v or "") for k, v in attrs]
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags[tag] += 1
        self.attrs += [(tag, k, v or "") for k, v in attrs]

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def portal_of(w: World) -> str:
    return w.sandbox.bitrix24.webhook_url.split("/rest/")[0]


def onec_writes(sandbox: Sandbox) -> list:
    return sandbox.onec.request_log.writes


# -- the report ----------------------------------------------------------------------------------------


def test_the_report_counts_what_the_systems_hold_and_writes_nothing(world, tmp_path):
    w = world
    w.b24.call("crm.company.update", {"id": 3, "fields": {"TITLE": EVIL}})
    w.b24.call("crm.company.update", {"id": 5, "fields": {"TITLE": FORMULA}})
    w.sandbox.bitrix24.request_log.clear()
    w.sandbox.onec.request_log.clear()
    out = tmp_path / "report"
    started = time.monotonic()
    result = cli(w.cfg, "migrate", "--out", str(out))  # on a portal without b24sync's fields yet
    took = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert "report.html" in result.output and "migrate --link" in result.output

    # (1) no write at all, on either side
    assert w.sandbox.bitrix24.request_log.writes == []
    assert {r.method for r in w.sandbox.onec.request_log.snapshot()} == {"GET"}

    b24, onec = b24_parties(w.sandbox), onec_parties(w.sandbox)
    everyone = {**b24, **onec}
    rep = read_report(out)

    # (2) every record is counted once, per side and per kind
    outcomes = t(m.MIGRATE_CHART_OUTCOMES)
    for side, parties in (("bitrix24", b24), ("onec", onec)):
        assert sum(n for (sec, _, s), n in rep.summary.items() if sec == outcomes and s == side) == len(parties)
        for kind, count in Counter(p.kind for p in parties.values()).items():
            assert rep.summary[(t(m.MIGRATE_CHART_KINDS), t(m.MIGRATE_KINDS[kind]), side)] == count, (side, kind)
    deleted = {k for k, p in onec.items() if p.deleted}
    assert rep.summary[(outcomes, t(m.MIGRATE_OUTCOMES["deletion_marked"]), "onec")] == len(deleted) > 0

    # (3) pairs: each shares the key it was matched by, no record twice, counts per method as summarized
    assert len({o for o, _ in rep.pairs.values()}) == len(rep.pairs) > 0
    for b_key, (o_key, method) in rep.pairs.items():
        b, o = b24[b_key], onec[o_key]
        assert not o.deleted
        if method == "inn_kpp":
            assert (b.inn, b.kpp) == (o.inn, o.kpp) and b.kpp
        elif method == "inn":
            assert b.inn == o.inn and b.inn_valid
        else:
            assert method == "email" and b.emails & o.emails
    methods = Counter(method for _, method in rep.pairs.values())
    for method, label in m.MIGRATE_METHODS.items():
        assert rep.summary[(t(m.MIGRATE_CHART_METHODS), t(label), "both")] == methods.get(method, 0)
    assert set(methods) == {"inn_kpp", "inn", "email"}

    # (4) the planted anomalies: never paired, each reported where it belongs
    held = set().union(*rep.ambiguous.values())
    paired = set(rep.pairs) | {o for o, _ in rep.pairs.values()}
    planted = {k: [] for k in (DUPLICATE_INN, SHARED_EMAIL, BAD_INN_CHECKSUM, WRONG_INN_LENGTH)}
    for p in w.sandbox.planted:
        if p.kind in planted:
            planted[p.kind] += [f"{p.entity}:{i}" for i in p.ids]
    onec_dups = [f"counterparty:{ref}" for p in w.sandbox.onec_planted if p.kind == "onec_duplicate_inn"
                 for ref in p.detail["refs"]]
    assert all(planted.values()) and onec_dups
    for key in [*planted[DUPLICATE_INN], *planted[SHARED_EMAIL], *onec_dups]:
        assert key not in paired and key in held, key
    assert set(planted[BAD_INN_CHECKSUM] + planted[WRONG_INN_LENGTH]) <= rep.invalid

    # (5) invalid INNs: exactly the records whose INN fails here
    assert rep.invalid == {k for k, p in everyone.items() if p.inn and not p.inn_valid}

    # (6) duplicates inside each system: exactly the groups found here
    for side, parties in (("bitrix24", b24), ("onec", onec)):
        found = {(basis, keys) for scope, basis, keys in rep.duplicates if scope == side}
        assert found == side_duplicates(parties), side
    for scope, _, keys in rep.duplicates:
        if scope == "both":  # across the systems: on both sides, and more than one matched pair
            assert {everyone[k].side for k in keys} == {"bitrix24", "onec"}
            assert not any(set(keys) <= {b, o} for b, (o, _) in rep.pairs.items())
    assert rep.summary[(t(m.MIGRATE_SECTION_DUPLICATES), t(m.MIGRATE_BASES["inn"]), "onec")] == sum(
        1 for scope, basis, _ in rep.duplicates if (scope, basis) == ("onec", "inn"))

    # (7) the sections partition each side; a record "only here" has no record with its key over there
    for side, parties in (("bitrix24", b24), ("onec", onec)):
        unmatched = rep.unmatched[side]
        live = {k for k, p in parties.items() if not p.deleted}
        assert live == (paired | held | rep.invalid | set(unmatched)) & live
        assert not set(unmatched) & (paired | held | rep.invalid)
        other = onec if side == "bitrix24" else b24
        for key, creatable in unmatched.items():
            p = parties[key]
            if not creatable:
                continue
            peers = [q for q in other.values() if q.cls == p.cls and not q.deleted]
            if p.cls == "organisation":
                assert p.inn_valid and not [q for q in peers if q.inn == p.inn], key
            else:
                assert p.emails and not [q for q in peers if q.emails & p.emails], key

    # (8) the HTML: well-formed, self-contained, charts inline, every value escaped, links to the cards
    html = (out / "report.html").read_text(encoding="utf-8")
    parser = Html()
    parser.feed(html)
    parser.close()
    assert parser.errors == [] and parser.stack == [], (parser.errors[:5], parser.stack)
    assert parser.tags["svg"] == 4 and parser.tags["rect"] > 20 and parser.tags["script"] == 0
    assert not [a for a in parser.attrs if a[1] == "src"] and parser.tags["link"] == 0
    assert ("meta", "charset", "utf-8") in parser.attrs
    hrefs = [v for tag, k, v in parser.attrs if k == "href"]
    assert all(h.startswith("#") or h.startswith(portal_of(w) + "/crm/") for h in hrefs)
    assert f"{portal_of(w)}/crm/company/details/3/" in hrefs and f"{portal_of(w)}/crm/contact/details/1/" in hrefs
    text = "".join(parser.text)
    assert EVIL in text and "&lt;script&gt;alert(&quot;взлом&quot;)&lt;/script&gt; &amp; «Ко»" in html
    assert "<script" not in html
    first_company = w.sandbox.portal.store.table("company").rows[1]["TITLE"]
    assert first_company in text and t(m.MIGRATE_SECTION_DUPLICATES) in text

    # (9) the CSV files: BOM, ';', Cyrillic, a formula kept as text, INNs kept as text
    rows = read_csv(out / "only_bitrix24.csv") + read_csv(out / "matched.csv")
    names = [v for row in rows for v in row.values()]
    assert "'" + FORMULA in names and EVIL in names
    matched_text = (out / "matched.csv").read_text(encoding="utf-8-sig")
    assert matched_text.splitlines()[0].count(";") == 15 and '="' in matched_text
    print(f"\nmigrate report, size {SIZE}: {len(b24)} Bitrix24 / {len(onec)} 1C records, {len(rep.pairs)} pairs "
          f"{dict(methods)}, {len(rep.ambiguous)} ambiguous groups, {len(rep.duplicates)} duplicate groups, "
          f"{len(rep.invalid)} invalid INNs; {took:.1f} s, "
          f"{len(w.sandbox.bitrix24.request_log.snapshot())} Bitrix24 + "
          f"{len(w.sandbox.onec.request_log.snapshot())} 1C requests")


# -- link, then create -------------------------------------------------------------------------------


def b24_values(sandbox: Sandbox) -> dict[str, tuple]:
    """What --link must not change: the records' own data (titles, names, phones, e-mails, managers)."""
    store = sandbox.portal.store
    return {f"{entity}:{ident}": tuple(str(row.get(f)) for f in ("TITLE", "NAME", "LAST_NAME", "PHONE", "EMAIL",
                                                                 "ASSIGNED_BY_ID"))
            for entity in ("company", "contact") for ident, row in store.table(entity).rows.items()}


def stamps(sandbox: Sandbox) -> dict[str, str]:
    store = sandbox.portal.store
    return {f"{entity}:{ident}": f"counterparty:{row['UF_CRM_1C_ID']}" for entity in ("company", "contact")
            for ident, row in store.table(entity).rows.items() if row.get("UF_CRM_1C_ID")}


def links(config: Config) -> dict[str, str]:
    return {row["b24_key"]: row["onec_key"] for row in State(config.state_path).links()
            if row["onec_key"].startswith("counterparty:")}


def test_link_writes_only_the_confident_links_then_create_missing_makes_the_rest(world, tmp_path):
    w = world
    assert cli(w.cfg, "doctor", "--fix").exit_code == 0
    w.sandbox.bitrix24.request_log.clear()
    w.sandbox.onec.request_log.clear()
    before_b24 = b24_values(w.sandbox)
    before_onec = {r["Ref_Key"]: r["DataVersion"] for r in w.sandbox.store.records(CP)}

    # not confirmed, or no answer at all: nothing is written
    declined = cli(w.cfg, "migrate", "--link", "--out", str(tmp_path / "r0"), input="n\n")
    assert declined.exit_code == 0 and "Not confirmed" in declined.output, declined.output
    unanswered = cli(w.cfg, "migrate", "--link", "--out", str(tmp_path / "r0"), input="")
    assert unanswered.exit_code == 1 and "Not confirmed" in unanswered.output
    assert w.sandbox.bitrix24.request_log.writes == [] and onec_writes(w.sandbox) == []
    rep = read_report(tmp_path / "r0")
    expected = {b: o for b, (o, _) in rep.pairs.items()}

    result = cli(w.cfg, "migrate", "--link", "--yes", "--out", str(tmp_path / "r1"))
    assert result.exit_code == 0, result.output
    assert f"Applied {len(expected)} operation(s); 0 failed" in result.output
    # only link operations: one update per confident pair, nothing created, nothing written to 1C
    written = Counter(w.sandbox.bitrix24.request_log.write_methods)
    assert written == Counter({"crm.company.update": sum(k.startswith("company:") for k in expected),
                               "crm.contact.update": sum(k.startswith("contact:") for k in expected)})
    assert onec_writes(w.sandbox) == []
    assert {r["Ref_Key"]: r["DataVersion"] for r in w.sandbox.store.records(CP)} == before_onec
    assert b24_values(w.sandbox) == before_b24  # the records' data untouched: only UF_CRM_1C_ID
    assert stamps(w.sandbox) == expected == links(w.config)
    assert not set(links(w.config)) & set().union(*rep.ambiguous.values())  # never the ambiguous
    journal = State(w.config.state_path).db.execute(
        "select action, count(*) from journal where status = 'done' group by action").fetchall()
    assert dict(journal) == {"link": len(expected)}

    # a second --link has nothing left to do
    w.sandbox.bitrix24.request_log.clear()
    again = cli(w.cfg, "migrate", "--link", "--yes", "--out", str(tmp_path / "r2"))
    assert again.exit_code == 0 and "Nothing to write" in again.output, again.output
    assert w.sandbox.bitrix24.request_log.writes == []

    # a pair from an ambiguous group, linked by hand: the next --link stamps it, and only it
    parties = {**b24_parties(w.sandbox), **onec_parties(w.sandbox)}
    b_key, o_key = next((b, o) for group in rep.ambiguous.values() for b in sorted(group) for o in sorted(group)
                        if b.startswith("company:") and o.startswith("counterparty:") and not parties[o].deleted
                        and parties[o].cls == "organisation")
    hand = cli(w.cfg, "conflicts", "link", b_key, o_key.split(":", 1)[1])
    assert hand.exit_code == 0, hand.output
    stamped = cli(w.cfg, "migrate", "--link", "--yes", "--out", str(tmp_path / "r2"))
    assert stamped.exit_code == 0 and "Applied 1 operation(s); 0 failed" in stamped.output, stamped.output
    assert w.sandbox.bitrix24.request_log.write_methods == ["crm.company.update"]
    assert stamps(w.sandbox) == {**expected, b_key: o_key} == links(w.config)
    expected[b_key] = o_key

    # --create-missing makes exactly the records marked «can be created», on both sides
    creatable = {side: {k for k, ok in rep.unmatched[side].items() if ok} for side in rep.unmatched}
    onec_before = len(w.sandbox.store.records(CP))
    w.sandbox.bitrix24.request_log.clear()
    w.sandbox.onec.request_log.clear()
    created = cli(w.cfg, "migrate", "--create-missing", "--yes", "--out", str(tmp_path / "r3"))
    assert created.exit_code == 0 and "0 failed" in created.output, created.output
    onec = onec_parties(w.sandbox)
    adds = Counter(mth for mth in w.sandbox.bitrix24.request_log.write_methods if mth.endswith(".add"))
    assert adds["crm.company.add"] == sum(onec[k].cls == "organisation" for k in creatable["onec"])
    assert adds["crm.contact.add"] == sum(onec[k].cls == "person" for k in creatable["onec"])
    posted = [r for r in onec_writes(w.sandbox) if r.method == "POST" and r.entity_set == CP]
    assert len(posted) == len(creatable["bitrix24"]) == len(w.sandbox.store.records(CP)) - onec_before
    final = cli(w.cfg, "migrate", "--link", "--create-missing", "--yes", "--out", str(tmp_path / "r4"))
    assert final.exit_code == 0 and "Nothing to write" in final.output, final.output
    after = read_report(tmp_path / "r4")
    assert not any(any(u.values()) for u in after.unmatched.values())
    assert len(after.pairs) == len(expected) + len(creatable["bitrix24"]) + len(creatable["onec"])
    assert len(links(w.config)) == len(after.pairs)
    assert max(Counter(stamps(w.sandbox).values()).values()) == 1  # one Bitrix24 record per 1C counterparty


# -- a killed --link resumes --------------------------------------------------------------------------


def journal_counts(path: Path) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return dict(db.execute("select status, count(*) from journal group by status").fetchall())


def test_a_link_run_killed_mid_apply_resumes_without_duplicates(world, tmp_path):
    w = world
    assert cli(w.cfg, "doctor", "--fix").exit_code == 0
    counts = (len(w.sandbox.portal.store.table("company").rows), len(w.sandbox.portal.store.table("contact").rows),
              len(w.sandbox.store.records(CP)))
    # each batch of link writes is committed by the portal, its answer held back: the kill lands mid-apply
    w.sandbox.bitrix24.faults.add("crm.company.update", "slow_after_commit", count=1000, delay=30.0)
    w.sandbox.bitrix24.request_log.clear()
    proc = subprocess.Popen([sys.executable, "-m", "b24sync", "--config", str(w.cfg), "migrate", "--link", "--yes",
                             "--out", str(tmp_path / "r0")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, **WIDE})
    try:
        deadline = time.monotonic() + 120
        while not [r for r in w.sandbox.bitrix24.request_log.snapshot() if r.fault == "slow_after_commit"]:
            assert proc.poll() is None and time.monotonic() < deadline, "no write in flight"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(15) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    w.sandbox.bitrix24.faults.clear()
    rep = read_report(tmp_path / "r0")
    expected = {b: o for b, (o, _) in rep.pairs.items()}
    half = stamps(w.sandbox)
    left = journal_counts(w.config.state_path)
    assert 0 < len(half) < len(expected) and left.get("sending", 0) > 0, (len(half), left)
    assert not links(w.config)  # the batch in flight was never marked done

    resumed = cli(w.cfg, "migrate", "--link", "--yes", "--out", str(tmp_path / "r1"))
    assert resumed.exit_code == 0, resumed.output
    assert f"Settled {left['sending']} operation(s) left in doubt" in resumed.output
    assert stamps(w.sandbox) == expected == links(w.config)
    assert journal_counts(w.config.state_path).get("sending", 0) == 0
    assert (len(w.sandbox.portal.store.table("company").rows), len(w.sandbox.portal.store.table("contact").rows),
            len(w.sandbox.store.records(CP))) == counts  # nothing created, so nothing duplicated
    assert not [mth for mth in w.sandbox.bitrix24.request_log.write_methods if mth.endswith(".add")]
    w.sandbox.bitrix24.request_log.clear()
    again = cli(w.cfg, "migrate", "--link", "--yes", "--out", str(tmp_path / "r2"))
    assert again.exit_code == 0 and "Nothing to write" in again.output
    assert w.sandbox.bitrix24.request_log.writes == []
    print(f"\nkilled mid-apply: {len(half)} of {len(expected)} stamps written, journal {left}; "
          f"resumed: all {len(expected)} linked, 0 duplicates, then nothing planned")
