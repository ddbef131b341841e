"""The shipped schedules, run for real: the ExecStart line of ``cron/b24sync@.service`` (with %i
substituted, its credentials, state directory and environment set up as systemd would) reconciles
the sandbox and exits 0; an overlapping start exits 75, which the unit counts as success; the units
carry the hardening and the credential names config.py reads; the crontab line works as written."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from b24sync.cli import app
from b24sync.lock import RunLock
from b24sync.sandbox.onec.seed import ORGANIZATIONS
from b24sync.sandbox.run import Sandbox, start_sandbox

REPO = Path(__file__).resolve().parents[2]
CRON = REPO / "cron"
INSTANCE = "acme"
runner = CliRunner()


def parse_unit(path: Path) -> dict[str, list[str]]:
    """``Section.Key`` → values in order (a key may repeat; an empty assignment resets, as in systemd)."""
    values: dict[str, list[str]] = {}
    section = ""
    lines = path.read_text(encoding="utf-8").splitlines()
    joined: list[str] = []
    for line in lines:  # backslash continuations
        if joined and joined[-1].endswith("\\"):
            joined[-1] = joined[-1][:-1] + " " + line.strip()
        else:
            joined.append(line)
    for line in joined:
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, _, value = line.partition("=")
        name = f"{section}.{key.strip()}"
        if value.strip() == "":  # an empty assignment resets the list (and an empty set stays visible)
            values[name] = [""]
            continue
        values.setdefault(name, []).append(value.strip())
    return values


def specifiers(text: str, instance: str) -> str:
    return text.replace("%%", "\0").replace("%i", instance).replace("%I", instance).replace("\0", "%")


@dataclass
class Host:
    """A stand-in root: /etc/b24sync, /var/lib and /opt/b24sync/bin/b24sync mapped into a temporary directory."""

    root: Path

    @property
    def etc(self) -> Path:
        return self.root / "etc" / "b24sync"

    @property
    def var_lib(self) -> Path:
        return self.root / "var" / "lib"

    def map(self, text: str) -> str:
        script = Path(sys.executable).with_name("b24sync")
        return (text.replace("/opt/b24sync/bin/b24sync", str(script))
                .replace("/etc/b24sync", str(self.etc)).replace("/var/lib", str(self.var_lib)))


def run_like_systemd(unit: Path, host: Host, instance: str = INSTANCE) -> subprocess.CompletedProcess:
    """What systemd does for a oneshot start of ``unit`` with ``%i = instance``, minus the sandboxing:
    credentials copied to a private directory ($CREDENTIALS_DIRECTORY), the StateDirectory= made
    ($STATE_DIRECTORY), Environment= set on an otherwise clean environment, umask from UMask=, cwd /."""
    keys = parse_unit(unit)
    runtime = host.root / "run" / f"{unit.stem}-{instance}"
    credentials = runtime / "credentials"
    credentials.mkdir(parents=True, exist_ok=True, mode=0o700)
    for spec in keys.get("Service.LoadCredential", []):
        name, _, source = specifiers(spec, instance).partition(":")
        target = credentials / name
        shutil.copyfile(host.map(source), target)
        os.chmod(target, 0o400)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(host.var_lib / "b24sync"),
           "CREDENTIALS_DIRECTORY": str(credentials), "INVOCATION_ID": "0" * 32}
    state_dirs = []
    for spec in keys.get("Service.StateDirectory", []):
        for relative in specifiers(spec, instance).split():
            directory = host.var_lib / relative
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            state_dirs.append(str(directory))
    env["STATE_DIRECTORY"] = ":".join(state_dirs)
    for spec in keys.get("Service.Environment", []):
        for assignment in shlex.split(specifiers(spec, instance)):
            name, _, value = assignment.partition("=")
            env[name] = value
    umask = int(keys.get("Service.UMask", ["0022"])[-1], 8)
    [command] = keys["Service.ExecStart"]
    argv = shlex.split(host.map(specifiers(command, instance)).lstrip("-@:+!"))
    return subprocess.run(argv, env=env, cwd="/", capture_output=True, text=True, timeout=240,
                          preexec_fn=lambda: os.umask(umask))


def success_codes(unit: Path) -> set[int]:
    extra = {int(code) for spec in parse_unit(unit).get("Service.SuccessExitStatus", []) for code in spec.split()
             if code.isdigit()}
    return {0} | extra


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Iterator[tuple[Sandbox, Host]]:
    """The sandbox, and an instance laid out as `init --systemd` lays it out, under a stand-in root."""
    host = Host(tmp_path_factory.mktemp("host"))
    with start_sandbox(size=24, seed=5, limits=False) as sandbox:
        password = host.root / "password"
        password.write_text(sandbox.onec.password, encoding="utf-8")
        result = runner.invoke(app, [
            "init", "--systemd", "--instance", INSTANCE, "--config", str(host.etc / f"{INSTANCE}.toml"),
            "--state-path", str(host.var_lib / "b24sync" / INSTANCE / "state.db"), "--yes",
            "--webhook-url", sandbox.bitrix24.webhook_url, "--odata-url", sandbox.onec.odata_url,
            "--odata-user", sandbox.onec.user, "--odata-password-file", str(password),
            "--organization", ORGANIZATIONS[0]["ИНН"]], env={"B24SYNC_BITRIX24_WEBHOOK": None, "COLUMNS": "200",
                                                            "B24SYNC_ONEC_PASSWORD": None, "B24SYNC_CONFIG": None})
        assert result.exit_code == 0, result.output
        config = host.etc / f"{INSTANCE}.toml"  # the emulator has no rate limits: do not pace the client either
        text = config.read_text(encoding="utf-8")
        config.write_text(text.replace("requests_per_second = 2.0", "requests_per_second = 1000.0")
                          .replace("burst = 50", "burst = 1000"), encoding="utf-8")
        yield sandbox, host


def test_the_units_execstart_reconciles_the_sandbox(installed):
    _, host = installed
    unit = CRON / "b24sync@.service"
    first = run_like_systemd(unit, host)
    assert first.returncode == 0, first.stderr[-3000:]
    for line in first.stderr.splitlines():  # --log-format json: every log line is one JSON object
        entry = json.loads(line) if line.startswith("{") else None
        assert entry is None or {"ts", "level", "msg"} <= set(entry), line
    assert "Applied" in first.stdout or "Nothing to do" in first.stdout, first.stdout[-2000:]
    # --format summary: the counts and one line of what was held back, not a table row per record
    assert "conflict(s)," in first.stdout and "rejected edit(s)" in first.stdout, first.stdout[-2000:]
    assert "Operations" not in first.stdout and len(first.stdout.splitlines()) < 40, first.stdout[-2000:]
    second = run_like_systemd(unit, host)
    assert second.returncode == 0 and "Nothing to do" in second.stdout, second.stdout[-2000:] + second.stderr[-2000:]
    status = subprocess.run([str(Path(sys.executable).with_name("b24sync")), "--config",
                             str(host.etc / f"{INSTANCE}.toml"), "status", "--max-age", "10m"],
                            capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin"})
    assert status.returncode == 0 and "Last successful run:" in status.stdout and " ago" in status.stdout, status


def test_an_overlapping_start_exits_75_which_the_unit_counts_as_success(installed):
    _, host = installed
    unit = CRON / "b24sync@.service"
    with RunLock(host.var_lib / "b24sync" / INSTANCE / "state.db", "reconcile (a long run)"):
        overlapping = run_like_systemd(unit, host)
    assert overlapping.returncode == 75, overlapping.stderr
    assert "another b24sync run holds the lock" in overlapping.stderr.lower()
    assert 75 in success_codes(unit) and 1 not in success_codes(unit) and 78 not in success_codes(unit)


def test_the_service_is_hardened_and_names_the_credentials_config_reads():
    keys = parse_unit(CRON / "b24sync@.service")
    single = {key: values[-1] for key, values in keys.items()}
    assert single["Service.Type"] == "oneshot" and single["Service.User"] == "b24sync"
    for key, value in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("ProtectHome", "yes"),
                       ("PrivateTmp", "yes"), ("CapabilityBoundingSet", ""), ("StateDirectory", "b24sync/%i"),
                       ("UMask", "0077"), ("RestrictSUIDSGID", "yes"), ("PrivateDevices", "yes")):
        assert single[f"Service.{key}"] == value, key
    assert any("/var/lib/b24sync/%i" in path for path in keys["Service.ReadWritePaths"])
    config_py = (REPO / "b24sync" / "config.py").read_text(encoding="utf-8")
    read_by_config = set(re.findall(r'credential="([a-z0-9_]+)"', config_py))
    for unit in ("b24sync@.service", "b24sync-serve@.service"):
        names = {spec.split(":")[0] for spec in parse_unit(CRON / unit)["Service.LoadCredential"]}
        assert names <= read_by_config and {"bitrix24_webhook", "onec_password"} <= names, unit
        text = (CRON / unit).read_text(encoding="utf-8")
        assert "B24SYNC_BITRIX24_WEBHOOK=" not in text and "B24SYNC_ONEC_PASSWORD=" not in text
    timer = {key: values[-1] for key, values in parse_unit(CRON / "b24sync@.timer").items()}
    assert timer["Timer.Persistent"] == "true" and int(timer["Timer.RandomizedDelaySec"]) > 0
    assert timer["Timer.OnCalendar"] and timer["Install.WantedBy"] == "timers.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_units(tmp_path):
    for name in ("b24sync@.service", "b24sync@.timer", "b24sync-serve@.service"):
        shutil.copyfile(CRON / name, tmp_path / name.replace("@.", f"@{INSTANCE}."))
    units = [str(tmp_path / name.replace("@.", f"@{INSTANCE}."))
             for name in ("b24sync@.service", "b24sync@.timer", "b24sync-serve@.service")]
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", *units], capture_output=True, text=True,
                            timeout=120)
    problems = [line for line in (result.stdout + result.stderr).splitlines()
                if line.strip() and "is not executable" not in line and "/opt/b24sync/bin/b24sync" not in line]
    assert not problems, problems


def test_the_crontab_line_runs_as_written(installed, tmp_path):
    sandbox, host = installed
    lines = [line for line in (CRON / "crontab.example").read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#") and "=" not in line.split()[0]]
    reconcile = next(line for line in lines if " reconcile" in line)
    heartbeat = next(line for line in lines if " status --max-age" in line)
    fields = reconcile.split(None, 6)
    assert len(fields) == 7 and fields[5] == "b24sync" and "flock" not in reconcile and "| logger" in reconcile
    if shutil.which("logger") is None:
        pytest.skip("logger is not installed")
    # the cron layout: a KEY=VALUE secrets file beside the config instead of credentials
    config = host.etc / "cron.toml"
    secrets = host.etc / "cron.secrets"
    text = (host.etc / f"{INSTANCE}.toml").read_text(encoding="utf-8").replace(
        "[secrets]\n", '[secrets]\nfile = "cron.secrets"\n').replace(f"b24sync/{INSTANCE}/state.db", "b24sync/cron.db")
    for path, body in ((config, text), (secrets, (
            f"B24SYNC_BITRIX24_WEBHOOK={sandbox.bitrix24.webhook_url}\n"
            f"B24SYNC_ONEC_PASSWORD={(host.etc / f'{INSTANCE}.onec_password').read_text(encoding='utf-8')}"))):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(body)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "b24sync").symlink_to(Path(sys.executable).with_name("b24sync"))
    (bindir / "logger").write_text(f"#!/bin/sh\ncat >> {tmp_path / 'syslog'}\n", encoding="utf-8")
    os.chmod(bindir / "logger", 0o755)
    env = {"PATH": f"{bindir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    for line in (reconcile, heartbeat):
        command = line.split(None, 6)[6].replace("/etc/b24sync/acme.toml", str(config))
        result = subprocess.run(["/bin/sh", "-c", command], env=env, capture_output=True, text=True, timeout=240)
        assert result.returncode == 0 and result.stdout == "", (command, result)
    logged = (tmp_path / "syslog").read_text(encoding="utf-8")
    assert "Applied" in logged or "Nothing to do" in logged
    assert sandbox.bitrix24.webhook_code not in logged


def _heartbeat_config(tmp_path: Path, state: Path) -> Path:
    path = tmp_path / "hb.toml"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(f'instance = "hb"\n[state]\npath = "{state}"\n')
    return path


def test_the_heartbeat_in_status(tmp_path):
    from datetime import UTC, datetime, timedelta

    from b24sync.state import State
    from b24sync.statecheck import human_age

    state_path = tmp_path / "hb.db"
    config = _heartbeat_config(tmp_path, state_path)
    env = {"COLUMNS": "200", "B24SYNC_CONFIG": None}
    none_yet = runner.invoke(app, ["--config", str(config), "status", "--max-age", "1h"], env=env)
    assert none_yet.exit_code == 1 and "No run has succeeded yet" in none_yet.output
    state = State(state_path)
    old = state.start_run("reconcile")
    state.finish_run(old, "ok", {"done": 3})
    three_hours_ago = (datetime.now(UTC) - timedelta(hours=3)).isoformat(timespec="seconds")
    state.db.execute("update runs set finished_at = ? where run_id = ?", [three_hours_ago, old])
    failed_run = state.start_run("reconcile")
    state.finish_run(failed_run, "failed", {})  # a failure is no heartbeat
    for by_hand in ("conflicts pick 3fa2c1d09e7b", "revert 1c392fa0", "reconcile --dry-run", "conflicts --refresh"):
        state.finish_run(state.start_run(by_hand), "ok", {})  # nor is a command run by hand
    state.db.conn.commit()
    stale = runner.invoke(app, ["--config", str(config), "status", "--max-age", "2h"], env=env)
    assert stale.exit_code == 1 and f"Last successful run: {three_hours_ago} (reconcile), 3 h 00 min ago" in \
        stale.output and "older than --max-age 2h" in stale.output
    assert runner.invoke(app, ["--config", str(config), "status", "--max-age", "4h"], env=env).exit_code == 0
    assert runner.invoke(app, ["--config", str(config), "status"], env=env).exit_code == 0  # no limit: informative
    assert runner.invoke(app, ["--config", str(config), "status", "--max-age", "soon"], env=env).exit_code == 2
    assert [human_age(s) for s in (42, 17 * 60, 3 * 3600 + 300, 2 * 86400 + 4 * 3600, -30)] == [
        "42 s", "17 min", "3 h 05 min", "2 d 4 h", "-30 s"]
