"""Benchmark: b24sync at the API floor and against other Python clients, printed as one table.

Every figure is measured against the emulators of both APIs (``b24sync.sandbox``), seeded through
their stores (not through REST), each emulator in a child process of its own so that it does not
share a CPU core or the GIL with the client it serves. Clients run in child processes too (a fresh
interpreter each: its own leaky bucket, its own peak RSS). Rows:

1. Bitrix24 full read of N contacts with PHONE and EMAIL, portal limits on (2 requests/s, burst
   50). b24sync (``export_all``), fast_bitrix24 (``Bitrix.get_all``) and b24pysdk (the
   ``as_list_fast()`` helper its docs recommend for large lists, and plain ``as_list()``) read the
   same records from the same emulator, one after another, the portal's bucket drained before each
   (``as_list()`` is given ``order={"ID": "ASC"}``, as in its docs: offset pages of an unordered
   list overlap, and the emulator shuffles unordered lists as a database without ``ORDER BY`` may).
   Floors: requests ⌈N / 2,500⌉ (50 commands of 50 rows per ``batch``); seconds: what a client
   that costs nothing itself would take, sending the floor's requests one after another, each let
   through by the leaky bucket and answered in the emulator's median time per request of the run
   (measured inside the emulator: its handling plus any modelled wait). Each client runs
   ``--repeat`` times, interleaved with the others; the best wall of each is shown.
2. Bitrix24 writes: W phone updates (``crm.contact.update``) sent by b24sync's batch writer.
   Floors: ⌈W / 50⌉ requests; seconds as in row 1.
3. 1C OData read of N counterparties with their contact information (the fields ``reconcile``
   reads), keyset pages of 1,000: requests against ⌊N / 1,000⌋ + 1 (the end is a short page),
   bytes, seconds, peak RSS; then 1 % of them is changed and the incremental read
   (``(Ref_Key, DataVersion)`` scan + fetch of what changed) is compared with the full read.
4. Only with ``--with-recon``: ``bench/recon_plan.py`` in a child process; its summary is shown
   when it prints a line this script can parse (see :func:`parse_recon`).
5. A zero-change incremental ``reconcile`` on the sandbox (default 100,000 parties; when row 6 runs
   too and this size is one of its sizes, on row 6's sandbox after its full run): a full first
   run, a second run (it re-reads what the first one wrote: its watermark was taken before its
   writes), then the measured run. The portal's clock is moved one hour ahead before each run, as
   between scheduled runs (the bucket drains and the 5-minute overlap no longer covers the
   previous run's writes).
6. The first, full ``reconcile`` on the sandbox at each of ``--sizes`` (default 10,000 and
   100,000 parties), limits on: requests and seconds against the sum of the floors, and the growth
   from the smallest to the largest size. Floors: Bitrix24, every distinct row read 50 to a page
   and every page, write or other command 50 to a ``batch``; 1C, every row read 1,000 to a page,
   one request per write (1C's standard OData interface has no batching) and ``$metadata``;
   seconds, the Bitrix24 floor's requests sent through the bucket at the emulator's mean time per
   request, plus the 1C floor's requests at the 1C emulator's mean time per request.

Usage (from the repository root)::

    python bench/perf.py                       # rows 1, 2, 3, 5, 6 at full size (long: over an hour)
    python bench/perf.py --quick               # small sizes, a smoke run of about two minutes
    python bench/perf.py --rows 1 --n 100000 --json perf.json
    python bench/perf.py --rows 6 --sizes 10000,100000
    python bench/perf.py --merge row1.json row2.json …   # one table from rows run one at a time
    B24SYNC_LATENCY_SCALE=0.05 python bench/perf.py --rows 1 --realistic-latency

The peers are a bench-only extra: ``pip install -e '.[bench]'``; a peer that is not installed is
reported as such. b24pysdk builds ``https://`` URLs only, so its URL builder is pointed at the
emulator's plain-HTTP address (:func:`_b24pysdk_over_http`); nothing else of it is changed.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

RATE, BURST = 2.0, 50  # the cloud portal's leaky bucket: drains 2 requests/s, holds 50
PAGE, COMMANDS = 50, 50  # rows per list page, commands per batch
ROWS_PER_REQUEST = PAGE * COMMANDS
ONEC_PAGE = 1000
SELECT = ["ID", "NAME", "LAST_NAME", "PHONE", "EMAIL"]
HERE = Path(__file__).resolve()
REPO = HERE.parent.parent
FULL = {"n": 100_000, "writes": 10_000, "onec": 100_000, "zero": 100_000, "sizes": [10_000, 100_000]}
QUICK = {"n": 5_000, "writes": 1_000, "onec": 2_000, "zero": 1_000, "sizes": [300, 1_000]}
PEERS = ("fast_bitrix24", "b24pysdk-fast", "b24pysdk-list")
PEER_LABEL = {"fast_bitrix24": "fast_bitrix24 get_all", "b24pysdk-fast": "b24pysdk as_list_fast()",
              "b24pysdk-list": "b24pysdk as_list()"}
HOUR = 3600.0


# -- floors ------------------------------------------------------------------------------------------


def bucket_floor(requests: int, rate: float = RATE, burst: int = BURST) -> float:
    """Seconds the leaky bucket forces on ``requests`` requests sent from an empty bucket."""
    return max(0, requests - burst) / rate


def serial_floor(requests: int, per_request: float, rate: float = RATE, burst: int = BURST) -> float:
    """Seconds for ``requests`` requests sent one after another, each answered ``per_request`` seconds
    after it is sent, never sooner than the bucket lets it go (a client that costs nothing itself)."""
    clock = 0.0
    for i in range(requests):
        clock = max(clock, (i + 1 - burst) / rate) + per_request
    return clock


def latency_model(enabled: bool) -> Any:
    if not enabled:
        return None
    from b24sync.sandbox.latency import CostModel

    return CostModel.from_env()


def peak_rss_mb() -> float:
    """This process's peak resident memory (``VmHWM``: unlike ``ru_maxrss``, not inherited across fork+exec)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- child processes: emulators ----------------------------------------------------------------------


class _Busy:
    """The emulator's own seconds per request: handling plus the modelled wait it adds."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seconds = 0.0
        self.each: list[float] = []  # per request, in the order they finished

    def wrap(self, emulator: Any) -> None:
        """Time the emulator's ``_process`` (every request after its log record is made)."""
        process = emulator._process

        def timed(*args: Any) -> Any:
            started = time.perf_counter()
            response = process(*args)
            spent = time.perf_counter() - started + response.delay
            with self.lock:
                self.seconds += spent
                self.each.append(spent)
            return response

        emulator._process = timed


def _b24_stats(emulator: Any, busy: _Busy | None, start: int = 0) -> dict[str, Any]:
    log = emulator.request_log.snapshot()[start:]
    methods = Counter(r.api_method if r.api_method != "batch" or not r.commands else f"batch:{r.commands[0]}"
                      for r in log)
    each = busy.each[start:start + len(log)] if busy else []
    return {"index": start + len(log), "requests": len(log), "503": sum(r.status == 503 for r in log),
            "429": sum(r.status == 429 for r in log), "busy": busy.seconds if busy else 0.0,
            "median_s": statistics.median(each) if each else 0.0, "methods": dict(methods.most_common())}


class B24Meter:
    """What the Bitrix24 floor of a run is made of, counted as the portal executes each command."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.ids: dict[str, set[Any]] = defaultdict(set)
            self.rows: Counter[str] = Counter()
            self.reads = 0
            self.writes = 0

    def note(self, method: str, outcome: Any) -> None:
        from b24sync.sandbox.bitrix24.requestlog import is_read_method

        if not outcome.executed:
            return
        name = method.lower()
        result = outcome.result.result if outcome.result is not None else None
        if isinstance(result, dict) and isinstance(result.get("items"), list):
            result = result["items"]
        with self.lock:
            if (name.endswith(".list") or name == "user.get") and isinstance(result, list):
                self.rows[name] += 0  # a list read, even when empty, takes a page
                for row in result:
                    key = row.get("ID", row.get("id")) if isinstance(row, dict) else None
                    if key is None:
                        self.rows[name] += 1
                    else:
                        self.ids[name].add(key)
            elif is_read_method(name):
                self.reads += 1
            else:
                self.writes += 1

    def floor(self) -> dict[str, Any]:
        with self.lock:
            names = set(self.rows) | set(self.ids)
            rows = {name: len(self.ids[name]) + self.rows[name] for name in names}
            pages = sum(max(1, math.ceil(count / PAGE)) for count in rows.values())
            commands = pages + self.reads + self.writes
            return {"requests": math.ceil(commands / COMMANDS), "pages": pages, "rows": rows,
                    "reads": self.reads, "writes": self.writes}


class OneCMeter:
    """Rows the 1C collection reads returned, per entity set."""

    def __init__(self, app: Any) -> None:
        self.lock = threading.Lock()
        self.local = threading.local()
        self.reset()
        read_collection, read_delay = app._read_collection, app._read_delay

        def collection(meta: Any, *args: Any) -> Any:
            self.local.name = meta.name
            return read_collection(meta, *args)

        def delay(*, rows: int, **kwargs: Any) -> float:
            with self.lock:
                self.rows[getattr(self.local, "name", "?")] += rows
                self.collections += 1
            return read_delay(rows=rows, **kwargs)

        app._read_collection, app._read_delay = collection, delay

    def reset(self) -> None:
        with self.lock:
            self.rows: Counter[str] = Counter()
            self.collections = 0

    def floor(self, writes: int) -> dict[str, Any]:
        """Pages of 1,000 rows, one request per write, and ``$metadata``."""
        with self.lock:
            pages = sum(max(1, math.ceil(count / ONEC_PAGE)) for count in self.rows.values())
            return {"requests": pages + writes + 1, "pages": pages, "rows": dict(self.rows), "writes": writes}


def _world_contacts(n: int, latency: bool) -> tuple[dict[str, Any], dict[str, Callable[..., Any]], Callable[[], None]]:
    from b24sync.sandbox.bitrix24 import Bitrix24Emulator, Limits, Portal
    from b24sync.sandbox.seed import SeedSpec, bitrix24_seed, generate_parties

    spec = SeedSpec.contacts_only(n)
    portal_seed, _ = bitrix24_seed(generate_parties(spec, 0), spec, 0)
    portal = Portal(portal_seed)
    emulator = Bitrix24Emulator(portal.registry, limits=Limits(bucket_size=BURST, drain_per_second=RATE),
                                costs=latency_model(latency))
    busy = _Busy()
    busy.wrap(emulator)
    emulator.start()
    table = portal.store.table("contact")

    def phones() -> list[list[Any]]:
        return [[cid, row["PHONE"][0][0]] for cid, row in sorted(table.rows.items()) if row.get("PHONE")]

    def holding(value_of: dict[str, str]) -> int:
        return sum(any(v[2] == value for v in table.rows.get(int(cid), {}).get("PHONE", []))
                   for cid, value in value_of.items())

    handlers = {
        "reset": emulator.reset_limits,
        "stats": lambda start=0: _b24_stats(emulator, busy, start),
        "phones": phones,
        "holding": holding,
    }
    return {"url": emulator.webhook_url, "records": len(table.rows)}, handlers, emulator.stop


def _world_onec(n: int, latency: bool) -> tuple[dict[str, Any], dict[str, Callable[..., Any]], Callable[[], None]]:
    import random

    from b24sync.sandbox.onec import OneCEmulator, OneCStore
    from b24sync.sandbox.onec.seed import load_onec
    from b24sync.sandbox.seed import SeedSpec, generate_parties

    spec = SeedSpec.from_size(n, anomalies=False).with_(deals=0, leads=0, only_b24_rate=0.0, only_onec_rate=0.0)
    store = OneCStore()
    load_onec(store, generate_parties(spec, 0), spec, 0)
    emulator = OneCEmulator(store, costs=latency_model(latency)).start()
    counterparties = "Catalog_Контрагенты"

    def change(share: float) -> int:
        refs = sorted(row["Ref_Key"] for row in store.query(counterparties))
        changed = random.Random(1).sample(refs, max(1, round(len(refs) * share)))
        for ref in changed:
            store.update(counterparties, ref, {"НаименованиеПолное": "изменено"}, load_mode=True)
        return len(changed)

    handlers = {"change": change, "requests": lambda: len(emulator.request_log)}
    info = {"url": emulator.odata_url, "user": emulator.user, "password": emulator.password,
            "records": len(store.query(counterparties))}
    return info, handlers, emulator.stop


def _world_sandbox(size: int, latency: bool, folder: str) -> tuple[dict[str, Any], dict[str, Callable[..., Any]],
                                                                    Callable[[], None]]:
    from b24sync.sandbox.run import start_sandbox

    offset = [0.0]
    sandbox = start_sandbox(size=size, seed=0, limits=True, realistic_latency=latency,
                            clock=lambda: time.time() + offset[0])
    b24_meter, onec_meter = B24Meter(), OneCMeter(sandbox.onec.app)
    dispatcher = sandbox.bitrix24._dispatcher
    call = dispatcher.call

    def metered_call(method: str, params: dict[str, Any], **kwargs: Any) -> Any:
        outcome = call(method, params, **kwargs)
        b24_meter.note(method, outcome)
        return outcome

    dispatcher.call = metered_call  # type: ignore[method-assign]
    busy_b24, busy_onec = _Busy(), _Busy()
    busy_b24.wrap(sandbox.bitrix24)
    busy_onec.wrap(sandbox.onec)
    marks: dict[str, Any] = {"b24": 0, "onec": 0, "busy_b24": 0.0, "busy_onec": 0.0}

    def sizes() -> dict[str, int]:
        store = sandbox.portal.store
        return {"companies": len(store.table("company").rows), "contacts": len(store.table("contact").rows),
                "counterparties": len(sandbox.store.records("Catalog_Контрагенты"))}

    def mark() -> dict[str, int]:
        marks["b24"], marks["onec"] = len(sandbox.bitrix24.request_log), len(sandbox.onec.request_log)
        marks["busy_b24"], marks["busy_onec"] = busy_b24.seconds, busy_onec.seconds
        b24_meter.reset()
        onec_meter.reset()
        return sizes()

    def measure() -> dict[str, Any]:
        b24 = _b24_stats(sandbox.bitrix24, None, marks["b24"])
        b24["busy"] = busy_b24.seconds - marks["busy_b24"]
        onec_log = list(sandbox.onec.request_log)[marks["onec"]:]
        onec_sets = Counter(f"{r.method} {r.entity_set or r.path.rsplit('/', 1)[-1]}" for r in onec_log)
        writes = sum(r.is_write for r in onec_log)
        return {"b24": b24, "onec": {"requests": len(onec_log), "writes": writes,
                                     "busy": busy_onec.seconds - marks["busy_onec"],
                                     "methods": dict(onec_sets.most_common())},
                "b24_floor": b24_meter.floor(), "onec_floor": onec_meter.floor(writes), "sizes": sizes()}

    def advance(seconds: float) -> None:
        offset[0] += seconds

    config = str(sandbox.write_config(Path(folder) / "b24sync.toml"))
    handlers = {"mark": mark, "measure": measure, "advance": advance, "sizes": sizes}
    return {"config": config}, handlers, sandbox.stop


WORLDS = {"contacts": _world_contacts, "onec": _world_onec, "sandbox": _world_sandbox}


def _serve(world: str, kwargs: dict[str, Any], conn: Any) -> None:
    try:
        info, handlers, stop = WORLDS[world](**kwargs)
    except BaseException:
        conn.send(("error", traceback.format_exc()))
        return
    conn.send(("ok", info))
    try:
        while True:
            command, args = conn.recv()
            if command == "stop":
                break
            try:
                conn.send(("ok", handlers[command](*args)))
            except Exception:
                conn.send(("error", traceback.format_exc()))
    finally:
        stop()


class Server:
    """An emulator world in a forked child process, driven through a pipe."""

    def __init__(self, world: str, **kwargs: Any) -> None:
        self.conn, child = mp.Pipe()
        self.proc = mp.get_context("fork").Process(target=_serve, args=(world, kwargs, child), daemon=True)
        self.proc.start()
        self.info = self._answer()

    def _answer(self) -> Any:
        status, value = self.conn.recv()
        if status != "ok":
            raise RuntimeError(f"emulator process failed:\n{value}")
        return value

    def __call__(self, command: str, *args: Any) -> Any:
        self.conn.send((command, args))
        return self._answer()

    def close(self) -> None:
        if self.proc.is_alive():
            self.conn.send(("stop", ()))
            self.proc.join(60)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# -- child processes: clients ------------------------------------------------------------------------


def _b24pysdk_over_http() -> None:
    """b24pysdk builds ``https://{domain}/rest`` URLs; the emulator speaks plain HTTP on loopback."""
    import importlib

    module = importlib.import_module("b24pysdk.api.callers.call_method")
    module._MethodCaller._base_url = property(lambda self: f"http://{self._domain}/rest")


def _complete(rows: list[dict[str, Any]]) -> int:
    return sum(bool(r.get("PHONE")) and bool(r.get("EMAIL")) for r in rows)


def client_b24sync_read(args: dict[str, Any]) -> dict[str, Any]:
    from b24sync.sources.bitrix24.client import Bitrix24Client
    from b24sync.sources.bitrix24.read import export_all

    client = Bitrix24Client(args["url"], rate=RATE, burst=BURST)
    base = peak_rss_mb()
    started = time.perf_counter()
    rows = export_all(client, "contact", select=SELECT)
    seconds = time.perf_counter() - started
    return {"records": len(rows), "complete": _complete(rows), "distinct": len({r["ID"] for r in rows}),
            "seconds": seconds, "client_requests": client.requests_made, "base_rss_mb": base}


def client_fast_bitrix24(args: dict[str, Any]) -> dict[str, Any]:
    import logging

    from fast_bitrix24 import Bitrix

    logging.getLogger("fast_bitrix24").setLevel(logging.WARNING)
    bitrix = Bitrix(args["url"], verbose=False)
    base = peak_rss_mb()
    started = time.perf_counter()
    rows = bitrix.get_all("crm.contact.list", params={"select": SELECT})
    seconds = time.perf_counter() - started
    return {"records": len(rows), "complete": _complete(rows), "distinct": len({r["ID"] for r in rows}),
            "seconds": seconds, "base_rss_mb": base}


def _b24pysdk_client(url: str) -> Any:
    from urllib.parse import urlsplit

    from b24pysdk import BitrixWebhook, Client

    _b24pysdk_over_http()
    parts = urlsplit(url)
    token = parts.path.removeprefix("/rest/").strip("/")
    return Client(BitrixWebhook(domain=parts.netloc, webhook_token=token), timeout=(5, 300))


def client_b24pysdk_fast(args: dict[str, Any]) -> dict[str, Any]:
    client = _b24pysdk_client(args["url"])
    base = peak_rss_mb()
    started = time.perf_counter()
    rows = list(client.crm.contact.list(select=SELECT).as_list_fast().result)
    seconds = time.perf_counter() - started
    return {"records": len(rows), "complete": _complete(rows), "distinct": len({r["ID"] for r in rows}),
            "seconds": seconds, "base_rss_mb": base}


def client_b24pysdk_list(args: dict[str, Any]) -> dict[str, Any]:
    client = _b24pysdk_client(args["url"])
    base = peak_rss_mb()
    started = time.perf_counter()
    rows = list(client.crm.contact.list(select=SELECT, order={"ID": "ASC"}).as_list().result)
    seconds = time.perf_counter() - started
    return {"records": len(rows), "complete": _complete(rows), "distinct": len({r["ID"] for r in rows}),
            "seconds": seconds, "base_rss_mb": base}


def client_b24sync_write(args: dict[str, Any]) -> dict[str, Any]:
    from b24sync.sources.bitrix24.client import Bitrix24Client
    from b24sync.sources.bitrix24.write import WriteOp, write_batch

    updates = json.loads(Path(args["updates"]).read_text(encoding="utf-8"))
    ops = [WriteOp(f"contact {cid}", "crm.contact.update",
                   {"id": cid, "fields": {"PHONE": [{"ID": vid, "VALUE": value, "VALUE_TYPE": "WORK"}]}})
           for cid, vid, value in updates]
    client = Bitrix24Client(args["url"], rate=RATE, burst=BURST)
    base = peak_rss_mb()
    started = time.perf_counter()
    outcomes = write_batch(client, ops)
    seconds = time.perf_counter() - started
    return {"writes": len(ops), "failed": sum(not o.ok for o in outcomes), "seconds": seconds,
            "client_requests": client.requests_made, "base_rss_mb": base}


def _onec_client(args: dict[str, Any]) -> Any:
    from b24sync.sandbox.bitrix24.api import MOSCOW
    from b24sync.sources.onec.client import OneCClient

    client = OneCClient(args["url"], args["user"], args["password"], server_tz=MOSCOW, page_size=ONEC_PAGE)
    client.metadata()  # once per client and run: not part of the read
    return client


def client_onec_full(args: dict[str, Any]) -> dict[str, Any]:
    from b24sync.extract import COUNTERPARTIES, COUNTERPARTY_FIELDS

    client = _onec_client(args)
    base = peak_rss_mb()
    requests0, bytes0 = client.requests_made, client.transport.bytes_received
    started = time.perf_counter()
    rows = [r for page in client.iterate(COUNTERPARTIES, select=COUNTERPARTY_FIELDS) for r in page]
    seconds = time.perf_counter() - started
    contacts = sum(bool(r.get("КонтактнаяИнформация")) for r in rows)
    Path(args["known"]).write_text(json.dumps({r["Ref_Key"]: r["DataVersion"] for r in rows}), encoding="utf-8")
    return {"records": len(rows), "with_contacts": contacts, "seconds": seconds,
            "client_requests": client.requests_made - requests0,
            "bytes": client.transport.bytes_received - bytes0, "base_rss_mb": base}


def client_onec_incremental(args: dict[str, Any]) -> dict[str, Any]:
    from b24sync.extract import COUNTERPARTIES, COUNTERPARTY_FIELDS

    known = json.loads(Path(args["known"]).read_text(encoding="utf-8"))
    client = _onec_client(args)
    base = peak_rss_mb()
    requests0, bytes0 = client.requests_made, client.transport.bytes_received
    started = time.perf_counter()
    changed, gone = client.changed(COUNTERPARTIES, known, select=COUNTERPARTY_FIELDS)
    seconds = time.perf_counter() - started
    return {"records": len(changed), "gone": len(gone), "seconds": seconds,
            "client_requests": client.requests_made - requests0,
            "bytes": client.transport.bytes_received - bytes0, "base_rss_mb": base}


def client_reconcile(args: dict[str, Any]) -> dict[str, Any]:
    from b24sync.config import load_config
    from b24sync.reconcile import run_reconcile

    config = load_config(args["config"])
    base = peak_rss_mb()
    started = time.perf_counter()
    result = run_reconcile(config)
    seconds = time.perf_counter() - started
    report = result.report
    return {"seconds": seconds, "operations": len(result.plan.operations),
            "done": len(report.done) if report else 0, "failed": len(report.failed) if report else 0,
            "stale": len(report.stale) if report else 0, "full": bool(result.prepared and result.prepared.full),
            "conflicts": len(result.plan.conflicts), "base_rss_mb": base}


CLIENTS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "b24sync": client_b24sync_read,
    "fast_bitrix24": client_fast_bitrix24,
    "b24pysdk-fast": client_b24pysdk_fast,
    "b24pysdk-list": client_b24pysdk_list,
    "b24sync-write": client_b24sync_write,
    "onec-full": client_onec_full,
    "onec-incremental": client_onec_incremental,
    "reconcile": client_reconcile,
}
PEER_MODULES = {"fast_bitrix24": "fast_bitrix24", "b24pysdk-fast": "b24pysdk", "b24pysdk-list": "b24pysdk"}


def _client_main(kind: str, arg_file: str) -> None:
    args = json.loads(Path(arg_file).read_text(encoding="utf-8"))
    result = CLIENTS[kind](args)
    result["peak_rss_mb"] = peak_rss_mb()
    print("RESULT " + json.dumps(result), flush=True)


def run_client(kind: str, args: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
    """Run one client in a fresh interpreter; its ``RESULT`` line, or ``{"error": ...}``."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as fh:
        json.dump(args, fh)
    try:
        proc = subprocess.run([sys.executable, str(HERE), "--client", kind, fh.name], capture_output=True,
                              text=True, timeout=timeout, cwd=REPO, env={**os.environ, "COLUMNS": "200"})
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    finally:
        os.unlink(fh.name)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return {"error": f"exit {proc.returncode}: {tail}"}


# -- the table ---------------------------------------------------------------------------------------


class Table:
    """Rows of: row number, measure, b24sync's figure, the floor or the peer, ratio, target, met."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, row: str, measure: str, value: str, reference: str, ratio: float | None,
            target: str = "—", met: bool | None = None, **figures: Any) -> None:
        self.rows.append({"row": row, "measure": measure, "value": value, "reference": reference,
                          "ratio": ratio, "target": target, "met": met, "figures": figures})
        print(f"  [{row}] {measure}: {value} vs {reference}" + (f" → {_fmt_ratio(ratio)}" if ratio else "")
              + ("" if met is None else f" ({'met' if met else 'missed'})"), flush=True)

    def render(self) -> str:
        head = ["#", "measure", "b24sync", "floor / peer", "ratio", "target", "met"]
        body = [[r["row"], r["measure"], r["value"], r["reference"], _fmt_ratio(r["ratio"]), r["target"],
                 "—" if r["met"] is None else ("yes" if r["met"] else "no")]
                for r in sorted(self.rows, key=lambda r: r["row"])]  # stable: a row's lines keep their order
        widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=True)]

        def line(cells: list[str]) -> str:
            return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

        return "\n".join([line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, body)])


def _fmt_ratio(ratio: float | None) -> str:
    if ratio is None:
        return "—"
    if math.isinf(ratio):
        return "∞"
    return f"{ratio:.3f}" if ratio < 10 else f"{ratio:.1f}"


def _ratio(value: float, reference: float) -> float | None:
    if reference == 0:
        return None if value == 0 else math.inf
    return value / reference


# -- rows --------------------------------------------------------------------------------------------


def row_bitrix24_read(table: Table, n: int, peers: list[str], latency: bool, peer_timeout: float,
                      repeat: int = 1) -> dict[str, Any]:
    print(f"row 1: seeding {n:,} contacts …", flush=True)
    out: dict[str, Any] = {"n": n, "clients": {}, "runs": defaultdict(list)}
    names = ["b24sync"]
    for name in peers:
        try:
            __import__(PEER_MODULES[name])
            names.append(name)
        except ImportError:
            out["clients"][name] = {"error": "not installed (pip install -e '.[bench]')"}
    with Server("contacts", n=n, latency=latency) as server:
        url = server.info["url"]
        for round_no in range(repeat):  # clients interleaved, so a busy spell of the machine hits all of them
            for name in names:
                if "error" in out["clients"].get(name, {}):
                    continue  # a peer that failed or timed out once is not run again
                server("reset")  # the portal's bucket drained: no client inherits another's requests
                before = server("stats")
                result = run_client(name, {"url": url}, None if name == "b24sync" else peer_timeout)
                after = server("stats", before["index"])
                result.update(requests=after["requests"], rejected=after["503"] + after["429"],
                              server_s=after["busy"] - before["busy"], server_median_s=after["median_s"])
                out["runs"][name].append(result)
                print(f"  {name} (round {round_no + 1}): {json.dumps(result)}", flush=True)
                if "error" in result:
                    out["clients"][name] = result
    for name, runs in out["runs"].items():
        if "error" not in out["clients"].get(name, {}):
            out["clients"][name] = min(runs, key=lambda r: r["seconds"])  # best of the rounds
    ours = out["clients"]["b24sync"]
    if "error" in ours:
        raise RuntimeError(f"b24sync read failed: {ours['error']}")
    floor_requests = math.ceil(n / ROWS_PER_REQUEST)
    floor_s = serial_floor(floor_requests, ours["server_median_s"])
    bucket = bucket_floor(floor_requests)
    ok_records = ours["records"] == n == ours["complete"] == ours["distinct"] and ours["rejected"] == 0
    label = f"B24 read {n:,} contacts"
    table.add("1", f"{label}: requests", f"{ours['requests']}", f"⌈N/2,500⌉ = {floor_requests}",
              _ratio(ours["requests"], floor_requests), "≤ 1.02",
              ours["requests"] <= 1.02 * floor_requests and ok_records)
    table.add("1", f"{label}: wall s", f"{ours['seconds']:.1f}",
              f"{floor_s:.1f} (bucket {bucket:.1f} + server {floor_s - bucket:.1f})",
              _ratio(ours["seconds"], floor_s), "≤ 1.10",
              ours["seconds"] <= 1.10 * floor_s)
    for name in peers:
        peer = out["clients"].get(name, {})
        if "error" in peer:
            table.add("1", f"{label}: vs {PEER_LABEL[name]}", f"{ours['seconds']:.1f} s", peer["error"], None,
                      "< 1", None)
            continue
        valid = peer["records"] == n == peer["distinct"]
        reference = (f"{peer['seconds']:.1f} s, {peer['requests']} req"
                     + ("" if valid else f", {peer['distinct']:,} distinct records"))
        table.add("1", f"{label}: vs {PEER_LABEL[name]}", f"{ours['seconds']:.1f} s, {ours['requests']} req",
                  reference, _ratio(ours["seconds"], peer["seconds"]), "< 1", ours["seconds"] < peer["seconds"])
    rss = {name: c["peak_rss_mb"] for name, c in out["clients"].items() if "peak_rss_mb" in c}
    others = {k: v for k, v in rss.items() if k != "b24sync"}
    if others:
        lowest = min(others, key=others.get)  # type: ignore[arg-type]
        table.add("1", f"{label}: peak RSS MB", f"{rss['b24sync']:.0f}",
                  f"{lowest} {others[lowest]:.0f} (lowest peer)", _ratio(rss["b24sync"], others[lowest]))
    out.update(floor_requests=floor_requests, floor_s=floor_s, bucket_floor_s=bucket)
    return out


def row_bitrix24_writes(table: Table, writes: int, latency: bool) -> dict[str, Any]:
    print(f"row 2: seeding {writes:,} contacts …", flush=True)
    with Server("contacts", n=writes, latency=latency) as server, \
            tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as fh:
        targets = server("phones")[:writes]
        updates = [[cid, vid, f"+7 495 {cid:07d}"] for cid, vid in targets]
        json.dump(updates, fh)
        fh.close()
        server("reset")
        before = server("stats")
        result = run_client("b24sync-write", {"url": server.info["url"], "updates": fh.name})
        after = server("stats", before["index"])
        holding = server("holding", {str(cid): value for cid, _, value in updates})
        os.unlink(fh.name)
    if "error" in result:
        raise RuntimeError(f"b24sync writes failed: {result['error']}")
    result.update(requests=after["requests"], rejected=after["503"] + after["429"],
                  server_s=after["busy"] - before["busy"], server_median_s=after["median_s"], holding=holding)
    print(f"  b24sync-write: {json.dumps(result)}", flush=True)
    floor_requests = math.ceil(len(updates) / COMMANDS)
    floor_s = serial_floor(floor_requests, result["server_median_s"])
    bucket = bucket_floor(floor_requests)
    correct = result["failed"] == 0 and holding == len(updates) and result["rejected"] == 0
    label = f"B24 write {len(updates):,} phones"
    table.add("2", f"{label}: requests", f"{result['requests']}", f"⌈W/50⌉ = {floor_requests}",
              _ratio(result["requests"], floor_requests), "≤ 1.02",
              result["requests"] <= 1.02 * floor_requests and correct)
    table.add("2", f"{label}: wall s", f"{result['seconds']:.1f}",
              f"{floor_s:.1f} (bucket {bucket:.1f} + server {floor_s - bucket:.1f})",
              _ratio(result["seconds"], floor_s), "≤ 1.10", result["seconds"] <= 1.10 * floor_s)
    return {"writes": len(updates), "result": result, "floor_requests": floor_requests, "floor_s": floor_s}


def row_onec_read(table: Table, n: int, latency: bool) -> dict[str, Any]:
    print(f"row 3: seeding {n:,} 1C counterparties …", flush=True)
    with Server("onec", n=n, latency=latency) as server, tempfile.TemporaryDirectory() as folder:
        args = {**{k: server.info[k] for k in ("url", "user", "password")}, "known": str(Path(folder) / "known.json")}
        full = run_client("onec-full", args)
        if "error" in full:
            raise RuntimeError(f"1C full read failed: {full['error']}")
        print(f"  onec-full: {json.dumps(full)}", flush=True)
        changed = server("change", 0.01)
        incremental = run_client("onec-incremental", args)
        if "error" in incremental:
            raise RuntimeError(f"1C incremental read failed: {incremental['error']}")
        print(f"  onec-incremental: {json.dumps(incremental)}", flush=True)
    records = server.info["records"]
    floor_requests = records // ONEC_PAGE + 1  # the end shows only as a short page
    label = f"1C read {records:,} counterparties"
    complete = full["records"] == records
    table.add("3", f"{label}: requests", f"{full['client_requests']}", f"⌊N/1,000⌋+1 = {floor_requests}",
              _ratio(full["client_requests"], floor_requests), "≤ 1.02",
              full["client_requests"] <= 1.02 * floor_requests and complete)
    table.add("3", f"{label}: s · MB · peak RSS MB",
              f"{full['seconds']:.1f} s · {full['bytes'] / 1e6:.0f} MB · {full['peak_rss_mb']:.0f}", "—", None,
              records_with_contacts=full["with_contacts"])
    inc_label = f"1C incremental, {changed:,} changed (1 %)"
    found = incremental["records"] == changed
    for key, unit, fmt in (("client_requests", "requests", "{:.0f}"), ("bytes", "MB", "{:.2f}"),
                           ("seconds", "s", "{:.2f}")):
        scale = 1e6 if key == "bytes" else 1
        value, reference = incremental[key] / scale, full[key] / scale
        table.add("3", f"{inc_label}: {unit}", fmt.format(value), f"full read {fmt.format(reference)}",
                  _ratio(value, reference), "< 1", value < reference and found)
    return {"records": records, "changed": changed, "full": full, "incremental": incremental,
            "floor_requests": floor_requests}


def _run_reconcile(server: Server, label: str) -> dict[str, Any]:
    server("advance", HOUR)  # the next scheduled run: the bucket has drained, the overlap has passed
    before = server("mark")
    result = run_client("reconcile", {"config": server.info["config"]})
    if "error" in result:
        raise RuntimeError(f"{label} failed: {result['error']}")
    result.update(server("measure"), before=before)
    print(f"  {label}: {json.dumps({k: v for k, v in result.items() if k not in ('b24_floor',)})}", flush=True)
    return result


def _sandbox(size: int, latency: bool, folder: str) -> Server:
    from b24sync.config import load_config
    from b24sync.doctor import run_doctor

    started = time.perf_counter()
    server = Server("sandbox", size=size, latency=latency, folder=folder)
    print(f"  sandbox of {size:,} parties seeded in {time.perf_counter() - started:.0f} s", flush=True)
    run_doctor(load_config(server.info["config"]), fix=True)  # the link fields reconcile requires
    return server


def _floor_seconds(run: dict[str, Any]) -> tuple[float, float, float]:
    """The run's floor in seconds: (total, Bitrix24 part, 1C part). Bitrix24: its floor's requests sent one
    after another through the bucket, each taking the emulator's mean time per request this run; 1C:
    its floor's requests at the 1C emulator's mean time per request (modelled waits included)."""
    b24, onec = run["b24"], run["onec"]
    b24_part = serial_floor(run["b24_floor"]["requests"], b24["busy"] / max(1, b24["requests"]))
    onec_part = run["onec_floor"]["requests"] * onec["busy"] / max(1, onec["requests"])
    return b24_part + onec_part, b24_part, onec_part


def row_zero_change(table: Table, size: int, latency: bool) -> dict[str, Any]:
    print(f"row 5: sandbox of {size:,} parties …", flush=True)
    with tempfile.TemporaryDirectory() as folder, _sandbox(size, latency, folder) as server:
        first = _run_reconcile(server, "first run (full)")
        return _zero_change_after(table, server, first)


def _zero_change_after(table: Table, server: Server, first: dict[str, Any]) -> dict[str, Any]:
    """Row 5 on a sandbox whose first, full run is done: a second run, then the measured one."""
    runs = [first, _run_reconcile(server, "second run")]
    zero = _run_reconcile(server, "zero-change run")
    sizes = zero["sizes"]
    label = f"zero-change reconcile, {sizes['companies'] + sizes['contacts']:,} + {sizes['counterparties']:,}"
    b24, onec = zero["b24"]["requests"], zero["onec"]["requests"]
    nothing = zero["operations"] == 0 and not zero["full"]
    table.add("5", f"{label}: B24 requests", f"{b24}", "a handful", None, "≤ 10", b24 <= 10 and nothing,
              methods=zero["b24"]["methods"])
    table.add("5", f"{label}: 1C requests", f"{onec}", "a handful", None, "≤ 10", onec <= 10 and nothing,
              methods=zero["onec"]["methods"])
    table.add("5", f"{label}: seconds", f"{zero['seconds']:.1f}", f"full run {runs[0]['seconds']:.1f} s",
              _ratio(zero["seconds"], runs[0]["seconds"]), operations=zero["operations"], full=zero["full"])
    return {"size": sizes["companies"] + sizes["contacts"], "runs": [*runs, zero]}


def row_end_to_end(table: Table, sizes: list[int], latency: bool,
                   zero_at: int | None = None) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Row 6; with ``zero_at`` among ``sizes``, row 5 follows on that sandbox (its full run is row 6's)."""
    out: dict[str, Any] = {}
    zero = None
    for size in sizes:
        print(f"row 6: sandbox of {size:,} parties …", flush=True)
        with tempfile.TemporaryDirectory() as folder, _sandbox(size, latency, folder) as server:
            run = _run_reconcile(server, f"full reconcile at {size:,}")
            if size == zero_at:
                print(f"row 5: the same sandbox of {size:,} parties …", flush=True)
                zero = _zero_change_after(table, server, run)
        b24, onec = run["b24"]["requests"], run["onec"]["requests"]
        floor_b24, floor_onec = run["b24_floor"]["requests"], run["onec_floor"]["requests"]
        floor_s, b24_s, onec_s = _floor_seconds(run)
        bucket = bucket_floor(floor_b24)
        before = run["before"]
        label = f"reconcile {size:,} parties ({run['operations']:,} writes planned)"
        table.add("6", f"{label}: requests B24 + 1C", f"{b24:,} + {onec:,}", f"{floor_b24:,} + {floor_onec:,}",
                  _ratio(b24 + onec, floor_b24 + floor_onec), failed=run["failed"], sizes_before=before)
        table.add("6", f"{label}: seconds", f"{run['seconds']:.1f}",
                  f"{floor_s:.1f} (B24 bucket {bucket:.1f} + server {b24_s - bucket:.1f}; 1C server {onec_s:.1f})",
                  _ratio(run["seconds"], floor_s))
        out[str(size)] = {**run, "floor_s": floor_s}
    if len(sizes) > 1:
        small, large = str(min(sizes)), str(max(sizes))
        linear = max(sizes) / min(sizes)
        growth = out[large]["seconds"] / out[small]["seconds"]
        table.add("6", f"growth {int(large):,} / {int(small):,}: seconds", f"×{growth:.1f}",
                  f"linear ×{linear:.0f}", growth / linear, "≤ 1.2", growth <= 1.2 * linear)
        requests = ((out[large]["b24"]["requests"] + out[large]["onec"]["requests"])
                    / (out[small]["b24"]["requests"] + out[small]["onec"]["requests"]))
        table.add("6", f"growth {int(large):,} / {int(small):,}: requests", f"×{requests:.1f}",
                  f"linear ×{linear:.0f}", requests / linear, "≤ 1.2", requests <= 1.2 * linear)
    return out, zero


RECON_LINE = re.compile(r"^total\s+([\d.]+)\s*$")
DATACOMPY_LINE = re.compile(r"datacompy\D*?([\d.]+)\s*s?\b", re.IGNORECASE)


def parse_recon(stdout: str) -> dict[str, Any] | None:
    """The summary of ``bench/recon_plan.py``: a JSON object line with ``"seconds"`` (and
    ``"datacompy_seconds"``), else its ``total <seconds>`` line and a line naming datacompy's seconds."""
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith("{") and line.endswith("}"):
            try:
                data = json.loads(line)
            except ValueError:
                continue
            if isinstance(data, dict) and "seconds" in data:
                return data
    totals = [float(m.group(1)) for m in map(RECON_LINE.match, stdout.splitlines()) if m]
    if not totals:
        return None
    peers = [float(m.group(1)) for m in map(DATACOMPY_LINE.search, stdout.splitlines()) if m]
    return {"seconds": totals[-1], "datacompy_seconds": peers[-1] if peers else None}


def row_recon(table: Table, n: int | None) -> dict[str, Any] | None:
    print("row 4: bench/recon_plan.py …", flush=True)
    proc = subprocess.run([sys.executable, str(HERE.parent / "recon_plan.py"), *([str(n)] if n else [])],
                          capture_output=True, text=True, cwd=REPO)
    summary = parse_recon(proc.stdout) if proc.returncode == 0 else None
    if summary is None:
        print("  no parsable summary: row 4 left out", flush=True)
        return None
    peer = summary.get("datacompy_seconds")
    table.add("4", f"diff/plan {n or 1_000_000:,} parties a side: seconds", f"{summary['seconds']:.1f}",
              f"datacompy {peer:.1f} s" if peer else "—", _ratio(summary["seconds"], peer) if peer else None,
              "< 1" if peer else "—", summary["seconds"] < peer if peer else None)
    return summary


# -- main --------------------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    if argv[:1] == ["--client"]:
        _client_main(argv[1], argv[2])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run of about two minutes")
    parser.add_argument("--rows", default="1,2,3,5,6", help="rows to run, e.g. 1,2,3 (4 needs --with-recon)")
    parser.add_argument("--n", type=int, help="row 1: contacts to read (default 100,000)")
    parser.add_argument("--writes", type=int, help="row 2: phone updates (default 10,000)")
    parser.add_argument("--onec", type=int, help="row 3: 1C counterparties (default 100,000)")
    parser.add_argument("--zero-size", type=int, help="row 5: sandbox parties (default 100,000)")
    parser.add_argument("--sizes", help="row 6: sandbox sizes, comma-separated (default 10000,100000)")
    parser.add_argument("--peers", default=",".join(PEERS), help=f"row 1 peers: {', '.join(PEERS)} or 'none'")
    parser.add_argument("--repeat", type=int, help="row 1: rounds over all clients, best wall of each "
                        "(default 3, --quick 1)")
    parser.add_argument("--peer-timeout", type=float, default=1800.0, help="seconds before a peer is given up")
    parser.add_argument("--realistic-latency", action="store_true",
                        help="emulators with the cost model (scale: B24SYNC_LATENCY_SCALE)")
    parser.add_argument("--with-recon", action="store_true", help="row 4: run bench/recon_plan.py")
    parser.add_argument("--recon-n", type=int, help="row 4: parties a side for recon_plan.py (its default: 1M)")
    parser.add_argument("--json", type=Path, help="save every figure to this file")
    parser.add_argument("--merge", type=Path, nargs="+", metavar="JSON",
                        help="print one table from the --json files of earlier runs (rows run one at a time)")
    opts = parser.parse_args(argv)
    if opts.merge:
        merged = Table()
        for path in opts.merge:
            merged.rows += json.loads(path.read_text(encoding="utf-8"))["table"]
        print(merged.render())
        return 0
    sizes = dict(QUICK if opts.quick else FULL)
    for key, value in (("n", opts.n), ("writes", opts.writes), ("onec", opts.onec), ("zero", opts.zero_size)):
        if value:
            sizes[key] = value
    if opts.sizes:
        sizes["sizes"] = [int(s) for s in opts.sizes.split(",") if s.strip()]
    rows = {int(r) for r in opts.rows.split(",") if r.strip()}
    if opts.with_recon:
        rows.add(4)
    peers = [] if opts.peers.strip() in ("", "none") else [p.strip() for p in opts.peers.split(",")]
    unknown = set(peers) - set(PEERS)
    if unknown:
        parser.error(f"unknown peers: {', '.join(sorted(unknown))}")
    latency = opts.realistic_latency
    if latency:
        from b24sync.sandbox.latency import scale_from_env

        print(f"realistic latency on, scale {scale_from_env():g}", flush=True)
    table = Table()
    figures: dict[str, Any] = {"sizes": sizes, "realistic_latency": latency, "rows": {}}
    started = time.perf_counter()
    if 1 in rows:
        figures["rows"]["1"] = row_bitrix24_read(table, sizes["n"], peers, latency, opts.peer_timeout,
                                                 opts.repeat or (1 if opts.quick else 3))
    if 2 in rows:
        figures["rows"]["2"] = row_bitrix24_writes(table, sizes["writes"], latency)
    if 3 in rows:
        figures["rows"]["3"] = row_onec_read(table, sizes["onec"], latency)
    if 4 in rows:
        figures["rows"]["4"] = row_recon(table, opts.recon_n or (20_000 if opts.quick else None))
    shared = 5 in rows and 6 in rows and sizes["zero"] in sizes["sizes"]  # row 5 continues row 6's sandbox
    if 5 in rows and not shared:
        figures["rows"]["5"] = row_zero_change(table, sizes["zero"], latency)
    if 6 in rows:
        figures["rows"]["6"], zero = row_end_to_end(table, sizes["sizes"], latency, sizes["zero"] if shared else None)
        if zero is not None:
            figures["rows"]["5"] = zero
    figures["table"] = table.rows
    figures["seconds"] = time.perf_counter() - started
    mode = "realistic latency" if latency else "no modelled latency"
    print(f"\nb24sync performance ({mode}; Bitrix24 limits {RATE:g} req/s, burst {BURST}; "
          f"{figures['seconds']:.0f} s)\n")
    print(table.render())
    if opts.json:
        opts.json.write_text(json.dumps(figures, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
