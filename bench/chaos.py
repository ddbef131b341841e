"""Chaos runs: kill -9 during apply, writes whose answers are lost, and a network chaos soak.

``kill`` and ``drop``: each iteration starts a fresh sandbox, runs ``doctor --fix``, then
``reconcile`` as a child process. ``kill``: the child is SIGKILLed after a random number of write
requests, then ``reconcile`` runs again to completion. ``drop``: a share of the requests on both
emulators commit and then lose their answer (``drop_after_commit``) for the first run, then a clean
run. Each iteration is audited against a run without faults on the same seed: duplicates per
``ORIGIN_ID``, rows left ``sending``, the next plan (must be empty), ``PRAGMA integrity_check``, and
the records of both systems, compared by identity rather than by count: Bitrix24 companies and
contacts by ``ORIGIN_ID`` (their ``ID`` when b24sync did not create them) with the 1C reference
stamped on each, 1C counterparties and orders by ``Ref_Key`` (deterministic for what b24sync
creates). Faults change the order of the writes, never what exists at the end, so any difference
from the clean run is a lost or extra record. (It found one: a Bitrix24 link written for a 1C
counterparty whose create had failed, which later runs then held back as a broken link.)

``soak`` (R15): one sandbox per iteration with random toxics on both emulators (latency, resets
before execution, answers dropped after commit, HTML 5xx pages, truncated bodies, timeouts; seeded)
for ``runs`` ``reconcile`` runs, with random hand edits on both sides between runs (owner edits,
non-owner edits, new records; made through the APIs while the toxics pause). Then the toxics stop,
one more round of edits is made, and clean runs follow until a dry run plans nothing (must take ≤ 2
runs). The audit, Jepsen-style:

- **lost**: an owner's last value (or a new record) that is not on the other side at the end;
- **duplicated**: a second record per ``ORIGIN_ID``, per 1C reference stamped in Bitrix24, per link,
  or per e-mail / INN of a record made by hand;
- **unexpected**: a record changed during a run that no operation journalled by that run targets
  (stores compared before and after every run);
- **reverted**: an owner's value overwritten on the owner's side.

Runs may exit non-zero under faults, but never with a traceback (counted). Usage:
``python bench/chaos.py kill 100``, ``python bench/chaos.py drop 50 [share]``,
``python bench/chaos.py soak [runs=50] [iterations=1] [size=60]``.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from b24sync.apply import PARTNER_NS
from b24sync.config import Config, load_config
from b24sync.doctor import run_doctor
from b24sync.extract import extract_bitrix24, extract_onec
from b24sync.recon.normalize import normalize_bitrix24, normalize_onec
from b24sync.reconcile import clients, run_reconcile
from b24sync.sandbox import ru_ids
from b24sync.sandbox.run import Sandbox, start_sandbox
from b24sync.sources.bitrix24.client import Bitrix24Client
from b24sync.sources.bitrix24.read import export_all

SIZE = 60
CP = "Catalog_Контрагенты"
PARTNERS = "Catalog_Партнеры"
ORDERS = "Document_ЗаказКлиента"


def _reconcile_child(cfg: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "b24sync", "--config", str(cfg), "reconcile"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "COLUMNS": "200"})


def _identities(sandbox: Sandbox) -> dict[str, Any]:
    """What exists at the end, by record identity (see the module docstring)."""
    out: dict[str, Any] = {}
    for entity in ("company", "contact"):
        rows = sandbox.portal.store.table(entity).rows.values()
        out[entity] = sorted(f"{r.get('ORIGIN_ID') or 'id:' + str(r['ID'])}→{r.get('UF_CRM_1C_ID') or ''}"
                             for r in rows)
    out["counterparty"] = sorted(r["Ref_Key"] for r in sandbox.store.records(CP))
    out["order"] = sorted(r["Ref_Key"] for r in sandbox.store.records(ORDERS))
    return out


def _audit(sandbox, config) -> dict[str, Any]:
    b24 = Bitrix24Client(sandbox.bitrix24.webhook_url)
    dup = 0
    counts = {}
    for entity in ("company", "contact"):
        rows = export_all(b24, entity, select=["ID", "ORIGIN_ID"])
        counts[entity] = len(rows)
        origins = Counter(r["ORIGIN_ID"] for r in rows if r["ORIGIN_ID"])
        dup += sum(v - 1 for v in origins.values() if v > 1)
    counts["counterparty"] = len(sandbox.store.records(CP))
    counts["order"] = len(sandbox.store.records(ORDERS))
    db = sqlite3.connect(config.state_path)
    sending = db.execute("select count(*) from journal where status = 'sending'").fetchone()[0]
    integrity = db.execute("pragma integrity_check").fetchone()[0]
    db.close()
    left = len(run_reconcile(config, dry_run=True).plan.operations)
    return {"duplicates": dup, "sending": sending, "integrity_ok": int(integrity == "ok"), "left": left, **counts,
            "records": _identities(sandbox)}


def _world(tmp: Path, seed: int):
    sandbox = start_sandbox(size=SIZE, seed=seed, limits=False)
    config = load_config(sandbox.write_config(tmp / f"chaos{seed}.toml"))
    run_doctor(config, fix=True)
    return sandbox, config


def iteration(mode: str, seed: int, share: float, tmp: Path) -> dict[str, Any]:
    with start_sandbox(size=SIZE, seed=seed, limits=False) as clean:
        config = load_config(clean.write_config(tmp / f"clean{seed}.toml"))
        run_doctor(config, fix=True)
        run_reconcile(config)
        baseline = _audit(clean, config)
    sandbox, config = _world(tmp, seed)
    try:
        rng = random.Random(seed)
        if mode == "kill":
            sandbox.bitrix24.faults.add(None, "slow_after_commit", count=100_000, delay=0.05)
            at = rng.randint(1, 12)
            proc = _reconcile_child(config.path)
            deadline = time.monotonic() + 120
            while len(sandbox.bitrix24.request_log.writes) + sum(
                    1 for r in list(sandbox.onec.request_log) if r.method != "GET") < at and proc.poll() is None:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.005)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            sandbox.bitrix24.faults.clear()
        else:
            for faults in (sandbox.bitrix24.faults, sandbox.onec.faults):
                faults.probabilities = {"drop_after_commit": share}
                faults.rng = random.Random(seed)
            proc = _reconcile_child(config.path)
            proc.wait(300)
            sandbox.bitrix24.faults.clear()
            sandbox.onec.faults.clear()
        for _ in range(3):  # resume until a run has nothing failed
            proc = _reconcile_child(config.path)
            if proc.wait(300) == 0:
                break
        audit = _audit(sandbox, config)
    finally:
        sandbox.stop()
    diff = {}
    for kind, mine in audit.pop("records").items():
        theirs = baseline["records"][kind]
        missing, extra = sorted(set(theirs) - set(mine)), sorted(set(mine) - set(theirs))
        if missing or extra:
            diff[kind] = {"missing": missing, "extra": extra}
    audit["differs_from_clean"] = int(bool(diff))
    if diff:
        audit["diff"] = diff
    return audit


def main(mode: str = "kill", n: int = 20, share: float = 0.1) -> None:
    totals: Counter[str] = Counter()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(n):
            result = iteration(mode, seed, share, Path(tmp))
            bad = result["duplicates"] or result["sending"] or result["left"] or not result["integrity_ok"] \
                or result["differs_from_clean"]
            totals["iterations"] += 1
            totals["failed_iterations"] += int(bool(bad))
            for key in ("duplicates", "sending", "left", "differs_from_clean"):
                totals[key] += result[key]
            totals["integrity_ok"] += result["integrity_ok"]
            if bad:
                print(f"seed {seed}: {result}", file=sys.stderr)
    seconds = time.perf_counter() - started
    print(f"{'mode':>6} {'iters':>6} {'failed':>7} {'dups':>6} {'sending':>8} {'plan left':>10} "
          f"{'≠ clean':>8} {'integrity ok':>13} {'seconds':>8}")
    print(f"{mode:>6} {totals['iterations']:>6} {totals['failed_iterations']:>7} {totals['duplicates']:>6} "
          f"{totals['sending']:>8} {totals['left']:>10} {totals['differs_from_clean']:>8} "
          f"{totals['integrity_ok']:>13} {seconds:>8.0f}")


# --- soak (R15) ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Toxics:
    """Shares of requests hit by each fault kind, per emulator, and the timings of the slow ones.

    ``latency``: the (low, high) seconds of a slow answer; ``timeout``: how long a ``timeout`` holds
    the connection, longer than the client's ``read_timeout`` (written into the soak's config).
    """

    bitrix24: dict[str, float]
    onec: dict[str, float]
    latency: tuple[float, float] = (0.0, 2.0)
    read_timeout: float = 4.0
    timeout: float = 5.0


# 5xx with an HTML page 10%, connection resets 5% (half before execution, half after the commit),
# truncated bodies 2%, timeouts 1%, and latency on 10% of the requests
SOAK_TOXICS = Toxics(
    bitrix24={"html502": 0.05, "html504": 0.05, "reset": 0.025, "drop_after_commit": 0.025, "truncated": 0.02,
              "timeout": 0.01, "slow_after_commit": 0.10},
    onec={"html500": 0.05, "web503": 0.05, "reset": 0.025, "drop_after_commit": 0.025, "truncated": 0.02,
          "timeout": 0.01, "slow": 0.10},
)

Runner = Callable[[Path], tuple[int, str]]
"""Runs ``b24sync --config PATH reconcile``; returns the exit code and everything it printed."""

TRACEBACK = re.compile(r"Traceback \(most recent call last\)")


def child_reconcile(config_path: Path, timeout: float = 900) -> tuple[int, str]:
    """One ``reconcile`` in a fresh process, as a timer runs it."""
    try:
        done = subprocess.run([sys.executable, "-m", "b24sync", "--config", str(config_path), "reconcile"],
                              capture_output=True, text=True, timeout=timeout, env={**os.environ, "COLUMNS": "200"})
    except subprocess.TimeoutExpired as exc:
        return -9, f"timed out after {timeout:g}s: {exc.stderr or ''}"
    return done.returncode, done.stdout + done.stderr


def soak_config(sandbox: Sandbox, path: Path, toxics: Toxics) -> Config:
    """The sandbox's config with short read timeouts and a pace the emulator (without limits) allows."""
    config_path = sandbox.write_config(path)
    text = config_path.read_text(encoding="utf-8")
    timeouts = f"connect_timeout = 2\nread_timeout = {toxics.read_timeout:g}\n"
    text = re.sub(r"requests_per_second = .*\nburst = .*\n", "requests_per_second = 100\nburst = 200\n", text)
    text = text.replace("[bitrix24]\n", "[bitrix24]\n" + timeouts).replace("[onec]\n", "[onec]\n" + timeouts)
    config_path.write_text(text, encoding="utf-8")  # the file stays 0600
    return load_config(config_path)


def set_toxics(sandbox: Sandbox, toxics: Toxics | None, seed: int = 0) -> None:
    """Start (seeded) or stop the toxics on both emulators."""
    for faults, shares, stream in ((sandbox.bitrix24.faults, toxics and toxics.bitrix24, "bitrix24"),
                                   (sandbox.onec.faults, toxics and toxics.onec, "onec")):
        faults.clear()
        if toxics is not None:
            faults.probabilities = dict(shares or {})
            faults.rng = random.Random(f"{seed}/{stream}")
            faults.slow_range = toxics.latency
            faults.timeout_seconds = toxics.timeout


class _Paused:
    """Toxics off for hand edits and audit reads, back on (same RNG stream) afterwards."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def __enter__(self) -> None:
        self.saved = [(f, f.probabilities) for f in (self.sandbox.bitrix24.faults, self.sandbox.onec.faults)]
        for faults, _ in self.saved:
            faults.probabilities = {}

    def __exit__(self, *exc: Any) -> None:
        for faults, shares in self.saved:
            faults.probabilities = shares


def party_frames(config: Config) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Both systems read and normalized as reconcile sees them: key → canonical row."""
    b24, onec, _ = clients(config)
    bs, os_ = extract_bitrix24(b24), extract_onec(onec)
    nb = normalize_bitrix24(bs.companies, bs.requisites, bs.addresses, bs.contacts, bs.users)
    no = normalize_onec(os_.counterparties, os_.user_email, manager_by_ref=os_.manager_by_ref,
                        legal_address_kind=os_.kinds.get("ЮрАдресКонтрагента", ""))
    return ({r["key"]: r for r in nb.frame.to_dict("records")}, {r["key"]: r for r in no.frame.to_dict("records")})


def _links(config: Config) -> list[tuple[str, str]]:
    db = sqlite3.connect(config.state_path)
    try:
        return db.execute("select b24_key, onec_key from links where onec_key like 'counterparty:%'").fetchall()
    except sqlite3.OperationalError:  # no state yet
        return []
    finally:
        db.close()


@dataclass
class Ledger:
    """What the hand edits did, and so what the end state must show."""

    expected: dict[tuple[str, str, str], Any] = field(default_factory=dict)  # (b24 key, 1C key, field) → owner's
    touched: list[tuple[str, str, str]] = field(default_factory=list)  # edited this round, expectation pending
    new_b24: dict[str, str] = field(default_factory=dict)  # contact key → e-mail
    new_onec: dict[str, str] = field(default_factory=dict)  # 1C ref → INN
    edits: Counter[str] = field(default_factory=Counter)
    serial: int = 0

    def next(self) -> int:
        self.serial += 1
        return self.serial


OWNER_EDITS = ("b24_phone", "b24_email", "onec_kpp", "onec_full_name")
OTHER_EDITS = ("onec_phone", "b24_kpp")
NEW_RECORDS = ("b24_contact", "onec_counterparty")


class HandEdits:
    """Random edits a user would make, through the same APIs b24sync uses."""

    def __init__(self, config: Config, seed: int, ledger: Ledger) -> None:
        self.config, self.ledger = config, ledger
        self.rng = random.Random(f"{seed}/edits")
        self.tag = seed
        self.b24, self.onec, _ = clients(config)
        self.owner = {name: config.fields.policies[name] for name in ("phones", "emails", "kpp", "full_name")}

    def _phone(self) -> str:
        digits = f"{self.rng.randint(0, 9_999_999):07d}"
        return f"+7 (916) {digits[:3]}-{digits[3:5]}-{digits[5:]}"

    def round(self, count: int) -> None:
        """``count`` random edits, then the owners' values they leave become the expectations."""
        b_rows, o_rows = party_frames(self.config)
        pairs = [(b, o) for b, o in _links(self.config) if b in b_rows and o in o_rows]
        for _ in range(count):
            kind = self.rng.choice((*OWNER_EDITS, *OWNER_EDITS, *OTHER_EDITS, *NEW_RECORDS))
            if kind in NEW_RECORDS:
                done = self._new_b24_contact() if kind == "b24_contact" else self._new_onec_counterparty(
                    [*b_rows.values(), *o_rows.values()])
            else:
                done = self._edit(kind, pairs, b_rows, o_rows)
            self.ledger.edits[kind if done else "skipped"] += 1
        if self.ledger.touched:
            b_rows, o_rows = party_frames(self.config)
            for b_key, o_key, name in self.ledger.touched:
                side = b_rows if self.owner[name] == "bitrix24" else o_rows
                self.ledger.expected[(b_key, o_key, name)] = _value(side.get(b_key if side is b_rows else o_key),
                                                                    name)
            self.ledger.touched.clear()

    def _edit(self, kind: str, pairs: list[tuple[str, str]], b_rows: dict, o_rows: dict) -> bool:
        name = {"b24_phone": "phones", "onec_phone": "phones", "b24_email": "emails", "onec_kpp": "kpp",
                "b24_kpp": "kpp", "onec_full_name": "full_name"}[kind]
        companies_only = name in ("kpp", "full_name")
        candidates = [(b, o) for b, o in pairs if not companies_only or (
            b.startswith("company:") and len(str(b_rows[b]["inn"])) == 10 and str(o_rows[o]["inn"]) == str(
                b_rows[b]["inn"]))]
        if kind in OTHER_EDITS:  # an owner's empty value is not propagated: edit only against a filled one
            owner_rows, owner_is_b24 = (b_rows, True) if self.owner[name] == "bitrix24" else (o_rows, False)
            candidates = [(b, o) for b, o in candidates if _value(owner_rows[b if owner_is_b24 else o], name)]
        if not candidates:
            return False
        b_key, o_key = self.rng.choice(candidates)
        entity, b_id = b_key.split(":")
        ref = o_key.split(":", 1)[1]
        n = self.ledger.next()
        if kind in ("b24_phone", "b24_email"):
            multi = "PHONE" if kind == "b24_phone" else "EMAIL"
            value = self._phone() if kind == "b24_phone" else f"soak{self.tag}.{n}@example.ru"
            current = self.b24.call(f"crm.{entity}.get", {"id": int(b_id)}).get(multi) or []
            item = {"ID": current[0]["ID"], "VALUE": value} if current else {"VALUE": value, "VALUE_TYPE": "WORK"}
            self.b24.call(f"crm.{entity}.update", {"id": int(b_id), "fields": {multi: [item]}})
        elif kind == "onec_kpp":
            inn = str(o_rows[o_key]["inn"])
            self.onec.update(CP, ref, {"КПП": f"{inn[:4]}01{self.rng.randint(1, 999):03d}"})
        elif kind == "onec_full_name":
            self.onec.update(CP, ref, {"НаименованиеПолное": f"Общество с ограниченной ответственностью «Правка {n}»"})
        elif kind == "onec_phone":
            rows = [dict(r) for r in (self.onec.get(CP, ref) or {}).get("КонтактнаяИнформация") or []]
            phone_rows = [r for r in rows if r.get("Тип") == "Телефон"]
            if not phone_rows:
                return False
            number = self._phone()
            phone_rows[0].update({"Представление": number, "НомерТелефона": re.sub(r"[^\d+]", "", number)})
            self.onec.update(CP, ref, {"КонтактнаяИнформация": rows})
        else:  # b24_kpp: the requisite apply writes to (lowest SORT, then ID)
            reqs = export_all(self.b24, "requisite", select=["ID", "SORT", "RQ_INN"],
                              filters={"ENTITY_TYPE_ID": 4, "ENTITY_ID": int(b_id)})
            if not reqs:
                return False
            req = min(reqs, key=lambda r: (int(r.get("SORT") or 0), int(r["ID"])))
            inn = str(req.get("RQ_INN") or "")
            self.b24.call("crm.requisite.update", {"id": int(req["ID"]), "fields": {
                "RQ_KPP": f"{inn[:4] or '7701'}43{self.rng.randint(1, 999):03d}"}})
        self.ledger.touched.append((b_key, o_key, name))
        return True

    def _new_b24_contact(self) -> bool:
        n = self.ledger.next()
        email = f"new{self.tag}.{n}@example.ru"
        contact = self.b24.call("crm.contact.add", {"fields": {
            "NAME": self.rng.choice(["Ярослава", "Пётр", "Алёна", "Фёдор"]), "LAST_NAME": f"Новикова-{n}",
            "EMAIL": [{"VALUE": email, "VALUE_TYPE": "WORK"}],
            "PHONE": [{"VALUE": self._phone(), "VALUE_TYPE": "WORK"}], "OPENED": "Y", "ASSIGNED_BY_ID": 1}})
        self.ledger.new_b24[f"contact:{contact}"] = email
        return True

    def _new_onec_counterparty(self, rows: list[dict[str, Any]]) -> bool:
        taken = {str(r["inn"]) for r in rows}  # an INN Bitrix24 has already would link, not create
        while True:
            office = self.rng.choice([7701, 7702, 7705, 7714, 7743, 5001, 7810])
            inn = str(int(ru_ids.inn10(np.array([office]), np.array([self.rng.randint(10_000, 99_999)]))[0]))
            if inn not in taken:
                break
        n = self.ledger.next()
        manager = self.onec.query("Catalog_Пользователи", top=1, filter="Служебный eq false")[0]["Ref_Key"]
        partner = self.onec.create(PARTNERS, {"Description": f"Новый партнёр {n}", "ЮрФизЛицо": "Компания",
                                              "ОсновнойМенеджер_Key": manager})
        record = self.onec.create(CP, {"Description": f"Новый клиент {n}", "ИНН": inn, "КПП": f"{inn[:4]}01001",
                                       "НаименованиеПолное": f"ООО «Новый клиент {n}»", "ЮрФизЛицо": "ЮрЛицо",
                                       "Партнер_Key": partner["Ref_Key"]})
        self.ledger.new_onec[record["Ref_Key"]] = inn
        return True


def _value(row: dict[str, Any] | None, name: str) -> Any:
    if row is None:
        return None
    value = row.get(name)
    if isinstance(value, (list, tuple, np.ndarray)):
        return tuple(sorted(str(v) for v in value if v))
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


# -- "unexpected": every record a run changed must be the target of an operation that run journalled --

def store_marks(sandbox: Sandbox) -> dict[tuple[str, str], str]:
    """(table, id) → the record's content, for every record of both emulators."""
    marks: dict[tuple[str, str], str] = {}

    def dump(value: Any) -> str:
        return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)

    store = sandbox.portal.store
    for name, table in store.tables.items():
        for rid, record in list(table.rows.items()):
            marks[(name, str(rid))] = dump(record)
    for (owner, oid), rows in list(store.product_rows.items()):
        marks[(f"productrows:{owner}", str(oid))] = dump(rows)
    base = sandbox.store
    with base.lock:
        for name in base.schema.sets:
            if name in base.schema.tabular:
                continue
            for record in base.records(name):
                text = dump(record)
                marks[(f"1c:{name}", str(record.get("Ref_Key") or text))] = text
    return marks


def _new_run_ops(config: Config, known: set[str]) -> tuple[list[dict[str, Any]], set[str]]:
    db = sqlite3.connect(config.state_path)
    try:
        runs = {r[0] for r in db.execute("select run_id from runs")}
        new = sorted(runs - known)
        rows = db.execute(f"select operation, remote_id from journal where run_id in ({','.join('?' * len(new))})",
                          new).fetchall() if new else []
    except sqlite3.OperationalError:
        return [], known
    finally:
        db.close()
    ops = []
    for text, remote in rows:
        op = json.loads(text)
        op["remote_id"] = remote or ""
        ops.append(op)
    return ops, runs


def unexpected_writes(before: dict[tuple[str, str], str], after: dict[tuple[str, str], str],
                      ops: Iterable[dict[str, Any]]) -> list[str]:
    """The records changed between ``before`` and ``after`` that none of ``ops`` targets."""
    ids: dict[str, set[str]] = {"company": set(), "contact": set()}
    origins: dict[str, set[str]] = {"company": set(), "contact": set()}
    b24_docs: set[tuple[str, str]] = set()
    doc_creates: set[str] = set()
    written_back: set[str] = set()  # deal:7 / lead:3 whose 1C document ref is written back
    refs: set[str] = set()
    partners: set[str] = set()
    documents: set[str] = set()
    for op in ops:
        entity, target_id = op["entity"], str(op.get("target_id") or "")
        if op["target"] == "bitrix24" and entity in ids:
            ids[entity] |= {i for i in (target_id, op["remote_id"]) if i}
            if op["action"] == "create":
                origins[entity].add(str((op["fields"].get("ORIGIN_ID") or {}).get("after") or ""))
        elif op["target"] == "bitrix24":
            b24_docs.add((entity, target_id))
            if op["action"] == "create":
                doc_creates.add(entity)
        elif entity == "counterparty":
            refs.add(target_id)
            if op["action"] == "create":
                partners.add(str(uuid.uuid5(PARTNER_NS, target_id)))
        else:
            documents.add(target_id)
            written_back.add(str(op["key"].get("b24_key")))

    def record(key: tuple[str, str]) -> dict[str, Any]:
        return json.loads(after.get(key) or before.get(key) or "{}")

    def company_ok(company_id: Any) -> bool:
        return str(company_id) in ids["company"] or str(record(("company", str(company_id))).get("ORIGIN_ID")) in \
            origins["company"]

    odd = []
    for key in sorted(set(before) | set(after)):
        if before.get(key) == after.get(key):
            continue
        table, rid = key
        rec = record(key)
        if table in ids:
            ok = rid in ids[table] or str(rec.get("ORIGIN_ID") or "") in origins[table]
        elif table == "requisite":
            ok = str(rec.get("ENTITY_TYPE_ID")) == "4" and company_ok(rec.get("ENTITY_ID"))
        elif table == "address":
            requisite = record(("requisite", str(rec.get("ENTITY_ID"))))
            ok = str(rec.get("ENTITY_TYPE_ID")) == "8" and company_ok(requisite.get("ENTITY_ID"))
        elif table in ("deal", "lead"):
            ok = f"{table}:{rid}" in written_back or (table, rid) in b24_docs
        elif table in ("invoice", "invoice_legacy"):
            entity = "smart_invoice" if table == "invoice" else "invoice_legacy"
            ok = (entity, rid) in b24_docs or entity in doc_creates
        elif table.startswith("productrows:"):
            ok = bool(b24_docs) or bool(doc_creates)
        elif table == f"1c:{CP}":
            ok = rid in refs
        elif table == f"1c:{PARTNERS}":
            ok = rid in partners or any(json.loads(after.get((f"1c:{CP}", r)) or "{}").get("Партнер_Key") == rid
                                        for r in refs)
        elif table.startswith("1c:Document_"):
            ok = rid in documents
        else:
            ok = table.startswith("1c:") and bool(documents)  # registers moved by posting a document
        if not ok:
            odd.append(f"{table} {rid}")
    return odd


# -- the end: Jepsen-style accounting -------------------------------------------------------------------

def history(config: Config, sandbox: Sandbox, plan: Any, key: str) -> list[str]:
    """What the journal, the links, both stores and the last plan say about one party key."""
    db = sqlite3.connect(config.state_path)
    rows = db.execute("select r.started_at, j.action, j.target, j.entity, j.status, j.last_error, j.operation "
                      "from journal j join runs r using (run_id) where j.operation like ? order by r.started_at",
                      [f'%"{key}"%']).fetchall()
    links = db.execute("select b24_key, onec_key, run_id from links where b24_key = ? or onec_key = ?",
                       [key, key]).fetchall()
    db.close()
    lines = [f"  {at} {action} {target} {entity}: {status} {error[:300]}" for at, action, target, entity, status,
             error, _ in rows]
    lines.append(f"  links: {links}")
    refs = {str(json.loads(op).get("target_id")) for *_, op in rows if json.loads(op).get("target") == "onec"}
    for ref in sorted(refs):
        record = sandbox.store.get(CP, ref)
        lines.append(f"  1C {ref}: " + ("absent" if record is None else
                                          f"DeletionMark={record.get('DeletionMark')} {record.get('Description')}"))
    entity, _, rid = key.partition(":")
    if entity in ("company", "contact"):
        record = sandbox.portal.store.table(entity).rows.get(int(rid)) or {}
        lines.append(f"  Bitrix24 {key}: UF_CRM_1C_ID={record.get('UF_CRM_1C_ID')!r} "
                     f"ORIGIN_ID={record.get('ORIGIN_ID')!r}")
    lines += [f"  plan: conflict {c.kind}/{c.reason} {c.records}" for c in plan.conflicts if key in c.records]
    lines += [f"  plan: issue {i.field} {i.reason}" for i in plan.issues if i.record_key == key]
    return lines


def soak_audit(config: Config, sandbox: Sandbox, ledger: Ledger) -> dict[str, Any]:
    b_rows, o_rows = party_frames(config)
    links = _links(config)
    lost: list[str] = []
    reverted: list[str] = []
    pair_of = dict(links)
    for (b_key, o_key, name), value in ledger.expected.items():
        owner_is_b24 = config.fields.policies[name] == "bitrix24"
        if pair_of.get(b_key) != o_key:
            lost.append(f"{b_key}/{o_key} no longer linked")
            continue
        mine, theirs = (b_rows.get(b_key), o_rows.get(o_key)) if owner_is_b24 else (o_rows.get(o_key),
                                                                                      b_rows.get(b_key))
        if _value(mine, name) != value:
            reverted.append(f"{b_key}/{o_key} {name}: owner has {_value(mine, name)!r}, expected {value!r}")
        if _value(theirs, name) != value:
            lost.append(f"{b_key}/{o_key} {name}: other side has {_value(theirs, name)!r}, expected {value!r}")
    duplicated: list[str] = []
    onec_by_email = Counter(e for r in o_rows.values() if not r.get("deleted") for e in _value(r, "emails"))
    for b_key, email in ledger.new_b24.items():
        o_key = pair_of.get(b_key)
        if o_key is None or o_key not in o_rows:
            lost.append(f"{b_key} ({email}) has no 1C counterparty")
        elif (b_key, o_key, "emails") not in ledger.expected and email not in _value(o_rows[o_key], "emails"):
            # (an e-mail edited since is checked with the other expectations)
            lost.append(f"{b_key} ({email}) is linked to {o_key}, which has {_value(o_rows[o_key], 'emails')!r}")
        if onec_by_email[email] > 1:
            duplicated.append(f"{email}: {onec_by_email[email]} 1C counterparties")
    store = sandbox.portal.store
    b24_records = [r for entity in ("company", "contact") for r in store.table(entity).rows.values()]
    for ref, inn in ledger.new_onec.items():
        made = [r for r in b24_records if r.get("ORIGIN_ID") == ref]
        if not made:
            lost.append(f"counterparty:{ref} (INN {inn}) has no Bitrix24 company")
        inn_rows = [k for k, r in b_rows.items() if str(r.get("inn")) == inn]
        if len(inn_rows) > 1:
            duplicated.append(f"INN {inn}: {len(inn_rows)} Bitrix24 records")
    for what, counter in (("ORIGIN_ID", Counter(r.get("ORIGIN_ID") for r in b24_records if r.get("ORIGIN_ID"))),
                          ("UF_CRM_1C_ID", Counter(r.get("UF_CRM_1C_ID") for r in b24_records
                                                   if r.get("UF_CRM_1C_ID"))),
                          ("linked Bitrix24 key", Counter(b for b, _ in links)),
                          ("linked 1C key", Counter(o for _, o in links))):
        duplicated += [f"{what} {value}: {n} records" for value, n in counter.items() if n > 1]
    db = sqlite3.connect(config.state_path)
    sending = db.execute("select count(*) from journal where status = 'sending'").fetchone()[0]
    integrity = db.execute("pragma integrity_check").fetchone()[0]
    db.close()
    return {"lost": lost, "duplicated": duplicated, "reverted": reverted, "sending": sending,
            "integrity_ok": integrity == "ok", "checked": len(ledger.expected) + len(ledger.new_b24) +
            len(ledger.new_onec)}


def soak(seed: int, runs: int, tmp: Path, *, size: int = SIZE, toxics: Toxics = SOAK_TOXICS,
         run: Runner = child_reconcile, edits_per_round: tuple[int, int] = (1, 3), clean_runs: int = 4,
         log: Callable[[str], None] = lambda line: print(line, file=sys.stderr)) -> dict[str, Any]:
    """One soak iteration: ``runs`` runs under toxics with hand edits between them, then clean runs."""
    sandbox = start_sandbox(size=size, seed=seed, limits=False)
    try:
        config = soak_config(sandbox, tmp / f"soak{seed}.toml", toxics)
        run_doctor(config, fix=True)
        ledger = Ledger()
        edits = HandEdits(config, seed, ledger)
        rng = random.Random(f"{seed}/rounds")
        exits: Counter[int] = Counter()
        tracebacks: list[str] = []
        unexpected: list[str] = []
        known_runs: set[str] = set()
        set_toxics(sandbox, toxics, seed)

        def one_run(label: str) -> int:
            nonlocal known_runs
            before = store_marks(sandbox)
            code, output = run(config.path)
            after = store_marks(sandbox)
            ops, known_runs = _new_run_ops(config, known_runs)
            odd = unexpected_writes(before, after, ops)
            unexpected.extend(f"{label}: {o}" for o in odd)
            if TRACEBACK.search(output):
                tracebacks.append(f"{label}: {output[-2000:]}")
            exits[code] += 1
            return code

        for number in range(1, runs + 1):
            if number > 1:
                with _Paused(sandbox):
                    edits.round(rng.randint(*edits_per_round))
            code = one_run(f"run {number}")
            if code not in (0, 1, 69):
                log(f"seed {seed} run {number}: exit {code}")
        fired = Counter(kind for *_, kind in sandbox.bitrix24.faults.fired) + \
            Counter(kind for *_, kind in sandbox.onec.faults.fired)
        set_toxics(sandbox, None)
        edits.round(rng.randint(*edits_per_round))  # the clean runs have fresh work besides what faults left
        converge = 0
        while True:
            left = len(run_reconcile(config, dry_run=True).plan.operations)
            if left == 0 or converge >= clean_runs:
                break
            converge += 1
            one_run(f"clean run {converge}")
        final = run_reconcile(config, dry_run=True, full=True).plan
        left_full = len(final.operations)
        audit = soak_audit(config, sandbox, ledger)
        for line in audit["lost"] + audit["reverted"]:  # each starts with its record's key
            key = line.split()[0].split("/")[0]
            audit.setdefault("histories", []).extend([line, *history(config, sandbox, final, key)])
    finally:
        sandbox.stop()
    for kind in ("lost", "duplicated", "reverted"):
        for line in audit[kind]:
            log(f"seed {seed} {kind}: {line}")
    for line in audit.get("histories", []):
        log(f"seed {seed} history: {line}")
    for line in unexpected:
        log(f"seed {seed} unexpected: {line}")
    for line in tracebacks:
        log(f"seed {seed} traceback: {line}")
    return {"runs": runs, "exits": dict(exits), "faults": sum(fired.values()), "fired": dict(fired),
            "edits": sum(v for k, v in ledger.edits.items() if k != "skipped"), "edit_kinds": dict(ledger.edits),
            "checked": audit["checked"], "lost": len(audit["lost"]), "duplicated": len(audit["duplicated"]),
            "unexpected": len(unexpected), "reverted": len(audit["reverted"]), "tracebacks": len(tracebacks),
            "converge": converge, "left": left, "left_full": left_full, "sending": audit["sending"],
            "integrity_ok": audit["integrity_ok"]}


def soak_main(runs: int = 50, iterations: int = 1, size: int = SIZE) -> None:
    rows = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(iterations):
            result = soak(seed, runs, Path(tmp), size=size)
            print(f"seed {seed}: {json.dumps(result, ensure_ascii=False)}", file=sys.stderr)
            rows.append(result)
    seconds = time.perf_counter() - started
    total = {key: sum(r[key] for r in rows) for key in ("runs", "faults", "edits", "checked", "lost", "duplicated",
                                                        "unexpected", "reverted", "tracebacks", "sending")}
    failed = sum(sum(n for code, n in r["exits"].items() if code != 0) for r in rows)
    converge = max(r["converge"] for r in rows)
    left = sum(r["left"] + r["left_full"] for r in rows)
    print(f"{'iters':>6} {'runs':>5} {'non-zero':>9} {'tracebacks':>11} {'faults':>7} {'edits':>6} {'checked':>8} "
          f"{'lost':>5} {'dup':>4} {'unexpected':>11} {'reverted':>9} {'converge':>9} {'left':>5} {'seconds':>8}")
    print(f"{len(rows):>6} {total['runs']:>5} {failed:>9} {total['tracebacks']:>11} {total['faults']:>7} "
          f"{total['edits']:>6} {total['checked']:>8} {total['lost']:>5} {total['duplicated']:>4} "
          f"{total['unexpected']:>11} {total['reverted']:>9} {converge:>9} {left:>5} {seconds:>8.0f}")


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "kill"
    if mode == "soak":
        soak_main(*(int(a) for a in sys.argv[2:5]))
    else:
        count = int(sys.argv[2]) if len(sys.argv) > 2 else 20
        share = float(sys.argv[3]) if len(sys.argv) > 3 else 0.1
        main(mode, count, share)
