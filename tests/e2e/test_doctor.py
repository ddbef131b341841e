"""``b24sync doctor`` against the emulators: every check passes on a healthy sandbox, and each way a
setup goes wrong fails its own check, says what was found and how to fix it — an unpublished 1C
entity set, a webhook without a scope, skewed clocks, a damaged or unwritable state file, an untrusted
or mismatched TLS certificate, refused credentials, settings the systems do not know."""

from __future__ import annotations

import http.server
import os
import re
import shutil
import socket
import sqlite3
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from typer.testing import CliRunner

from b24sync import messages as m
from b24sync.checks import FAIL, FIXED, OK, WARN, Check
from b24sync.cli import app
from b24sync.config import load_config
from b24sync.doctor import run_doctor
from b24sync.i18n import t
from b24sync.sandbox.bitrix24 import Bitrix24Emulator
from b24sync.sandbox.run import Sandbox, start_sandbox
from b24sync.state import State

runner = CliRunner()
ENV = {"COLUMNS": "250", "B24SYNC_BITRIX24_WEBHOOK": None, "B24SYNC_ONEC_PASSWORD": None, "B24SYNC_CONFIG": None,
       "CREDENTIALS_DIRECTORY": None}


def named(checks: list[Check], template: str, **values: str) -> Check:
    name = t(template, **values)
    found = [check for check in checks if check.name == name]
    assert found, f"no check {name!r} in {[c.name for c in checks]}"
    return found[-1]


def failed(checks: list[Check]) -> list[str]:
    return [f"{c.name}: {c.detail}" for c in checks if c.status == FAIL]


def measured(detail: str, system: str) -> int:
    """The skew the clock check reports for ``system`` (seconds against this machine)."""
    found = re.search(rf"{system} ([+-]\d+) s", detail)
    assert found, detail
    return int(found.group(1))


def fast(path: Path) -> Path:
    """The sandbox config with quick retries (a failing doctor answers in a second)."""
    text = path.read_text(encoding="utf-8")
    text = text.replace("[bitrix24]\n", "[bitrix24]\nmax_retries = 2\nretry_budget_seconds = 0.5\n")
    text = text.replace("[onec]\n", "[onec]\nmax_retries = 2\nretry_budget_seconds = 0.5\n")
    path.write_text(text, encoding="utf-8")
    return path


def edited(path: Path, old: str, new: str, name: str) -> Path:
    """A copy of the config beside it (same secrets file), with one edit."""
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    copy = path.with_name(name)
    fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text.replace(old, new, 1))
    return copy


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[tuple[Sandbox, Path]]:
    root = tmp_path_factory.mktemp("doctor")
    with start_sandbox(size=24, seed=5, limits=False) as sandbox:
        config = fast(sandbox.write_config(root / "b24sync.toml"))
        assert not failed(run_doctor(load_config(config), fix=True))
        yield sandbox, config


def test_a_healthy_sandbox_passes_every_check(world):
    sandbox, path = world
    result = runner.invoke(app, ["--config", str(path), "doctor"], env=ENV)
    assert result.exit_code == 0, result.output
    checks = run_doctor(load_config(path))
    assert {c.status for c in checks} == {OK}, [(c.name, c.status, c.detail) for c in checks]
    named(checks, m.CHECK_CONNECTION, system="Bitrix24")
    named(checks, m.CHECK_TLS, system="1C")
    for template in (m.CHECK_B24_SCOPES, m.CHECK_ONEC_SETS, m.CHECK_ONEC_ORGANIZATION, m.CHECK_ONEC_HS, m.CHECK_CLOCKS,
                     m.CHECK_STATE, m.CHECK_B24_STAGES):
        named(checks, template)
    assert "fix:" not in result.output and sandbox.onec.password not in result.output
    for line in result.output.splitlines()[1:-1]:  # one line per check: status, name, detail
        assert line.split()[0] == "ok", line


def test_unpublished_entity_sets_are_named_with_how_to_publish(world):
    sandbox, path = world
    hidden = {"Catalog_Партнеры", "Document_CRM_Интерес"}
    sandbox.onec.published.difference_update(hidden)
    try:
        checks = run_doctor(load_config(path))
        check = named(checks, m.CHECK_ONEC_SETS)
        assert check.status == FAIL and all(name in check.detail for name in hidden)
        assert "Catalog_Контрагенты" not in check.detail
        assert "Настройка стандартного интерфейса OData" in check.fix
        assert "УстановитьСоставСтандартногоИнтерфейсаOData" in check.fix and "Catalog_Партнеры" in check.fix
        result = runner.invoke(app, ["--config", str(path), "doctor"], env=ENV)
        assert result.exit_code == 1 and "Catalog_Партнеры" in result.output and "fix:" in result.output
        leads_off = edited(path, "[statuses.map]\n", "[leads]\nenabled = false\n\n[statuses.map]\n", "no-leads.toml")
        check = named(run_doctor(load_config(leads_off)), m.CHECK_ONEC_SETS)  # a flow that is off needs nothing
        assert check.status == FAIL and "Catalog_Партнеры" in check.detail and "Интерес" not in check.detail
    finally:
        sandbox.onec.published.update(hidden)


@pytest.mark.parametrize(("scopes", "missing"), [
    (frozenset({"crm"}), "user"),
    (frozenset({"crm", "user_brief"}), "user"),
    (frozenset({"user"}), "crm"),
])
def test_a_webhook_without_a_needed_scope(world, monkeypatch, scopes, missing):
    sandbox, path = world
    limited = Bitrix24Emulator(sandbox.portal.registry, limits=None, scopes=scopes,
                               call_lock=sandbox.bitrix24.call_lock).start()
    try:
        answer = requests.post(f"{limited.webhook_url}{'user.get' if missing == 'user' else 'crm.contact.list'}.json",
                               json={}, timeout=10)
        if "user_brief" not in scopes:  # user_brief may call user.get (it only sees fewer fields)
            assert answer.status_code == 403 and answer.json()["error"] == "insufficient_scope"
        assert requests.post(f"{limited.webhook_url}scope.json", json={}, timeout=10).json()["result"] == sorted(scopes)
        every = requests.post(f"{limited.webhook_url}scope.json", json={"full": True}, timeout=10).json()["result"]
        assert {"crm", "user", "user_basic", "user_brief", "catalog"} <= set(every)
        monkeypatch.setenv("B24SYNC_BITRIX24_WEBHOOK", limited.webhook_url)
        checks = run_doctor(load_config(path))
        check = named(checks, m.CHECK_B24_SCOPES)
        assert check.status == FAIL and f"missing: {missing}" in check.detail
        assert ("Пользователи (user)" if missing == "user" else "CRM (crm)") in check.fix
        if "user_brief" in scopes:
            assert "user_brief" in check.detail
        fields = [c for c in checks if c.name.startswith(t(m.CHECK_B24_FIELD, entity="", field="").split(".")[0])]
        assert fields if missing == "user" else not fields  # without crm, no cascade of CRM failures
        assert len(failed(checks)) == 1, failed(checks)
    finally:
        limited.stop()


@pytest.mark.parametrize(("portal", "onec", "status", "named_system"), [
    (600, 0, FAIL, "Bitrix24"),
    (0, -900, FAIL, "1C"),
    (300, 300, WARN, None),  # the two systems agree; only this machine is off
    (20, -15, OK, None),
], ids=["portal-10-min-ahead", "1c-15-min-behind", "this-machine-off", "within-a-minute"])
def test_skewed_clocks(tmp_path, portal, onec, status, named_system):
    with start_sandbox(size=24, seed=5, limits=False, clock=lambda: time.time() + portal,
                       onec_clock=lambda: time.time() + onec) as sandbox:
        config = load_config(fast(sandbox.write_config(tmp_path / "b24sync.toml")))
        checks = run_doctor(config, fix=True)
    check = named(checks, m.CHECK_CLOCKS)
    assert check.status == status, check
    assert abs(measured(check.detail, "Bitrix24") - portal) <= 2 and abs(measured(check.detail, "1C") - onec) <= 2
    if status == FAIL:
        ahead, behind = ("Bitrix24", "1C") if portal - onec > 0 else ("1C", "Bitrix24")
        between = re.search(rf"{ahead} is (\d+) s ahead of {behind}", check.detail)
        assert between and abs(int(between.group(1)) - abs(portal - onec)) <= 2, check.detail
        assert t(m.CLOCK_FIX_ONE, system=named_system) == check.fix
    if status == WARN:
        assert check.fix == t(m.CLOCK_FIX_LOCAL)
    assert [c for c in failed(checks) if not c.startswith(t(m.CHECK_CLOCKS))] == []


def test_the_clocks_are_measured_against_an_injected_local_clock(world):
    _, path = world
    check = named(run_doctor(load_config(path), clock=lambda: time.time() - 3600), m.CHECK_CLOCKS)
    assert check.status == WARN and abs(measured(check.detail, "Bitrix24") - 3600) <= 2


def _state(tmp_path: Path) -> Path:
    path = tmp_path / "state" / "s.db"
    state = State(path)
    run = state.start_run("reconcile")
    state.finish_run(run, "ok", {"done": 0})
    state.db.conn.close()
    return path


def _state_checks(config_path: Path, state: Path, tmp_path: Path) -> list[Check]:
    config = edited(config_path, 'path = "b24sync-state.db"', f'path = "{state}"', f"{tmp_path.name}.toml")
    return run_doctor(load_config(config))


@pytest.mark.parametrize("damage", ["garbage", "torn-page"])
def test_a_damaged_state_file(world, tmp_path, damage):
    _, path = world
    state = _state(tmp_path)
    for suffix in ("-wal", "-shm"):
        Path(f"{state}{suffix}").unlink(missing_ok=True)
    if damage == "garbage":
        state.write_bytes(b"not a database at all " * 300)
    else:
        data = bytearray(state.read_bytes())
        assert len(data) > 4096 * 3
        data[4096 + 8:4096 * 3] = os.urandom(4096 * 2 - 8)  # pages 2-3: b-tree pages torn mid-write
        state.write_bytes(bytes(data))
    checks = _state_checks(path, state, tmp_path)
    check = named(checks, m.CHECK_STATE)
    assert check.status == FAIL and "damaged" in check.detail and str(state) in check.detail
    assert f"mv {state} {state}.damaged" in check.fix and "reconcile --dry-run" in check.fix
    assert failed(checks) == [f"{check.name}: {check.detail}"]
    config = edited(path, 'path = "b24sync-state.db"', f'path = "{state}"', "damaged.toml")
    result = runner.invoke(app, ["--config", str(config), "doctor"], env=ENV)
    assert result.exit_code == 1 and "damaged" in result.output


def test_writes_left_in_doubt_and_a_newer_schema(world, tmp_path):
    _, path = world
    state = _state(tmp_path)
    db = sqlite3.connect(state)
    db.execute("insert into journal (run_id, op_id, status, updated_at, operation) values "
               "('r1', 'op1', 'sending', '2025-01-01T10:00:00+00:00', '{}')")
    db.commit()
    checks = _state_checks(path, state, tmp_path)
    journal = named(checks, m.CHECK_STATE_JOURNAL)
    assert journal.status == WARN and "1 write(s)" in journal.detail and "2025-01-01" in journal.detail
    assert "reconcile" in journal.fix and not failed(checks)
    assert named(checks, m.CHECK_STATE_SCHEMA).status == OK
    db.execute("insert into _sqlite_migrations (migration_set, name, applied_at) values "
               "('b24sync', 'm999_from_the_future', '2030-01-01')")
    db.commit()
    db.close()
    schema = named(_state_checks(path, state, tmp_path), m.CHECK_STATE_SCHEMA)
    assert schema.status == FAIL and "m999_from_the_future" in schema.detail and "Upgrade" in schema.fix


def test_an_unwritable_state_directory(world, tmp_path, monkeypatch):
    _, path = world
    state = _state(tmp_path)
    locked = {state.parent, tmp_path / "locked"}
    real_access = os.access

    def access(target, mode, *args, **kwargs) -> bool:  # as a user without write permission there (root has it)
        if Path(target) in locked and mode & os.W_OK:
            return False
        return real_access(target, mode, *args, **kwargs)

    monkeypatch.setattr("b24sync.statecheck.os.access", access)
    check = named(_state_checks(path, state, tmp_path), m.CHECK_STATE)
    assert check.status == FAIL and "not writable" in check.detail and "chown" in check.fix
    (tmp_path / "locked").mkdir()
    check = named(_state_checks(path, tmp_path / "locked" / "deeper" / "s.db", tmp_path), m.CHECK_STATE)
    assert check.status == FAIL and "cannot be created" in check.detail and "StateDirectory=" in check.fix
    assert named(_state_checks(path, tmp_path / "new" / "s.db", tmp_path), m.CHECK_STATE).status == OK


# -- TLS -------------------------------------------------------------------------------------------------


def _certificate(directory: Path, name: str) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
                    "-addext", f"subjectAltName=DNS:{name}", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


class _Quiet(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - the base class's naming
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def _https_server(cert: Path, key: Path) -> tuple[http.server.HTTPServer, int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def test_tls_certificate_errors_are_named(world, tmp_path, monkeypatch):
    _, path = world
    cert, key = _certificate(tmp_path, "localhost")
    server, port = _https_server(cert, key)
    try:
        monkeypatch.setenv("B24SYNC_BITRIX24_WEBHOOK", f"https://localhost:{port}/rest/1/abcdef123456/")
        checks = run_doctor(load_config(path))
        tls = named(checks, m.CHECK_TLS, system="Bitrix24")
        assert named(checks, m.CHECK_CONNECTION, system="Bitrix24").status == OK
        assert tls.status == FAIL and "not trusted" in tls.detail and "self-signed" in tls.detail
        assert "REQUESTS_CA_BUNDLE" in tls.fix
        assert not [c for c in checks if c.name == t(m.CHECK_B24_REACH)]  # nothing more is tried over it

        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))  # the fix: trust the CA that signed it
        checks = run_doctor(load_config(path))
        tls = named(checks, m.CHECK_TLS, system="Bitrix24")
        assert tls.status == WARN and "certificate verified" in tls.detail and "renew" in tls.fix  # 2 days left

        monkeypatch.setenv("B24SYNC_BITRIX24_WEBHOOK", f"https://127.0.0.1:{port}/rest/1/abcdef123456/")
        tls = named(run_doctor(load_config(path)), m.CHECK_TLS, system="Bitrix24")
        assert tls.status == FAIL and "not issued for 127.0.0.1" in tls.detail
    finally:
        server.shutdown()
        server.server_close()


def test_plain_http_is_a_warning_off_this_machine(world, monkeypatch):
    from b24sync.doctor import _tls_check
    from b24sync.probe import Probe

    assert _tls_check("x", Probe("http", "127.0.0.1", 80), "token").status == OK
    check = _tls_check("x", Probe("http", "1c.example.ru", 80), "1C password")
    assert check.status == WARN and "1C password" in check.detail and "https" in check.fix


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_systems_and_refused_credentials(world, monkeypatch):
    sandbox, path = world
    monkeypatch.setenv("B24SYNC_BITRIX24_WEBHOOK", f"http://127.0.0.1:{_closed_port()}/rest/1/abcdef123456/")
    checks = run_doctor(load_config(path))
    check = named(checks, m.CHECK_CONNECTION, system="Bitrix24")
    assert check.status == FAIL and "nothing accepts connections" in check.detail and "port" in check.fix
    assert named(checks, m.CHECK_ONEC_SETS).status == OK  # the other side is still checked

    monkeypatch.setenv("B24SYNC_BITRIX24_WEBHOOK", sandbox.bitrix24.webhook_url.replace(
        sandbox.bitrix24.webhook_code, "0123456789abcdef"))
    monkeypatch.setenv("B24SYNC_ONEC_PASSWORD", "wrong-password")
    checks = run_doctor(load_config(path))
    portal, base = named(checks, m.CHECK_B24_REACH), named(checks, m.CHECK_ONEC_REACH)
    assert portal.status == FAIL and "Входящий вебхук" in portal.fix and "0123456789abcdef" not in portal.detail
    assert base.status == FAIL and "Администратор" in base.fix and "OData" in base.fix
    assert "wrong-password" not in repr(checks)
    assert len(failed(checks)) == 2, failed(checks)


def test_settings_the_systems_do_not_know(world):
    sandbox, path = world
    stage = edited(path, 'trigger_stages = ["Договор подписан"]', 'trigger_stages = ["Нет такой стадии"]', "st.toml")
    check = named(run_doctor(load_config(stage)), m.CHECK_B24_STAGES)
    assert check.status == FAIL and "Нет такой стадии" in check.detail and "deals.trigger_stages" in check.fix

    organization = load_config(path).deals.organization
    no_org = edited(path, f'organization = "{organization}"', 'organization = ""', "org.toml")
    check = named(run_doctor(load_config(no_org)), m.CHECK_ONEC_ORGANIZATION)
    assert check.status == FAIL and "ИНН" in check.detail and 'organization = "' in check.fix

    zone = edited(path, 'timezone = "', 'timezone = "Asia/Yekaterinburg"\n# was: "', "zone.toml")
    check = named(run_doctor(load_config(zone)), m.CHECK_ONEC_ZONE)
    assert check.status == FAIL and "Europe/Moscow" in check.detail and 'timezone = "Europe/Moscow"' in check.fix

    needed = edited(path, "[onec]\n", f'[onec]\nhttp_service_url = "{sandbox.onec.base_url}hs/nothing/v1/"\n',
                    "hs.toml")
    with needed.open("a", encoding="utf-8") as fh:  # writes through a service the base does not have
        fh.write('\n[onec.write_via]\ncounterparty = "http_service"\n')
    check = named(run_doctor(load_config(needed)), m.CHECK_ONEC_HS)
    assert check.status == FAIL and "onec/README.md" in check.fix


def test_fix_creates_only_the_missing_fields_and_is_idempotent(tmp_path):
    with start_sandbox(size=24, seed=5, limits=False) as sandbox:
        config = load_config(fast(sandbox.write_config(tmp_path / "b24sync.toml")))
        first = run_doctor(config, fix=True)
        assert [c.status for c in first if c.name.startswith("Bitrix24 field")] == [FIXED] * 4
        adds = [r for r in sandbox.bitrix24.request_log.snapshot() if any("userfield.add" in c for c in r.commands)]
        second = run_doctor(config, fix=True)
        assert [c.status for c in second if c.name.startswith("Bitrix24 field")] == [OK] * 4
        again = [r for r in sandbox.bitrix24.request_log.snapshot() if any("userfield.add" in c for c in r.commands)]
        assert len(adds) == len(again) == 4


def test_another_users_state_file_is_read_without_leaving_files_behind(tmp_path, monkeypatch):
    from b24sync.statecheck import state_checks

    state = _state(tmp_path)
    before = sorted(p.name for p in state.parent.iterdir())
    monkeypatch.setattr("b24sync.statecheck.os.geteuid", lambda: state.stat().st_uid + 1)  # root checking b24sync's
    checks = state_checks(state)
    assert [c.status for c in checks] == [OK, OK, OK], checks
    assert sorted(p.name for p in state.parent.iterdir()) == before  # no -wal/-shm owned by the wrong user
