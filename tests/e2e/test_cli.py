"""The command line as a user runs it: installed entry point, sandbox lifecycle, demo, exit codes."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from b24sync import __version__
from b24sync.cli import app
from b24sync.config import load_config
from b24sync.sources.bitrix24.client import Bitrix24Client
from b24sync.sources.bitrix24.read import export_all

UNREDACTED_TOKEN = re.compile(r"/rest/\d+/(?!\*\*\*)[0-9a-f]{8,}")
runner = CliRunner()


def b24sync(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "b24sync", *args], capture_output=True, text=True, timeout=120,
                          **kwargs)


def test_version_and_help():
    result = b24sync("--version")
    assert result.returncode == 0 and result.stdout.startswith(f"b24sync {__version__} (python ")
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0 and "sandbox" in result.output and "demo" in result.output


def test_usage_errors_exit_2():
    assert runner.invoke(app, ["--log-format", "yaml", "demo"]).exit_code == 2
    assert runner.invoke(app, ["no-such-command"]).exit_code == 2


def test_sandbox_prints_facts_writes_config_and_stops_on_sigterm(tmp_path):
    cfg = tmp_path / "sb" / "b24sync.toml"
    proc = subprocess.Popen([sys.executable, "-m", "b24sync", "sandbox", "--size", "40", "--seed", "3",
                             "--no-limits", "--write-config", str(cfg)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    facts = {}
    try:
        for line in proc.stdout:
            key, _, value = line.strip().partition("=")
            facts[key] = value
            if key == "READY":
                break
        assert facts["READY"] == "1"
        assert re.match(r"^http://127\.0\.0\.1:\d+/rest/1/[0-9a-f]+/$", facts["BITRIX24_WEBHOOK"])
        assert facts["BITRIX24_APP_TOKEN"] and facts["CONFIG"] == str(cfg.resolve())
        secrets = cfg.with_suffix(".secrets")
        assert stat.S_IMODE(cfg.stat().st_mode) == 0o600 and stat.S_IMODE(secrets.stat().st_mode) == 0o600
        assert facts["BITRIX24_WEBHOOK"] not in cfg.read_text()  # the config holds no secret
        config = load_config(cfg)
        assert config.state_path.parent == cfg.parent.resolve()
        client = Bitrix24Client.from_config(config)
        companies = export_all(client, "company", select=["ID", "TITLE"])
        assert companies and any(re.search("[А-Яа-яЁё]", c["TITLE"]) for c in companies)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "stopped" in err


def test_demo_runs_and_never_shows_the_token():
    result = b24sync("-vv", "--log-format", "json", "demo", "--size", "60")
    assert result.returncode == 0, result.stderr
    for stream in (result.stdout, result.stderr):
        assert not UNREDACTED_TOKEN.search(stream), stream[:2000]
    assert "company" in result.stdout and "rejected by its rate limits" in result.stdout
    assert '"level": "debug"' in result.stderr  # debug logging was on and still redacted


def test_python_dash_m_and_console_script_agree():
    script = Path(sys.executable).with_name("b24sync")
    if script.exists():
        out = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
        assert out.stdout == b24sync("--version").stdout


def test_config_errors_exit_78(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('instance = "x"\n')
    os.chmod(cfg, 0o644)
    from b24sync.errors import ConfigError

    try:
        load_config(cfg)
    except ConfigError as exc:
        assert exc.exit_code == 78
    else:
        raise AssertionError("a group-readable config must be refused")


def test_doctor_reports_and_fixes_user_fields(tmp_path):
    from b24sync.sandbox.run import start_sandbox

    with start_sandbox(size=40, limits=False) as sandbox:
        cfg = sandbox.write_config(tmp_path / "b24sync.toml")
        wide = {"COLUMNS": "250"}
        first = runner.invoke(app, ["--config", str(cfg), "doctor"], env=wide)
        assert first.exit_code == 1
        assert "UF_CRM_1C_ID" in first.output and "doctor --fix" in first.output
        assert "Администратор" in first.output and sandbox.onec.password not in first.output
        fixed = runner.invoke(app, ["--config", str(cfg), "doctor", "--fix"], env=wide)
        assert fixed.exit_code == 0, fixed.output
        fields = sandbox.bitrix24.request_log.snapshot()
        assert any("crm.company.userfield.add" in r.commands for r in fields)
        again = runner.invoke(app, ["--config", str(cfg), "doctor"], env=wide)
        assert again.exit_code == 0 and "failed" not in again.output
    os.chmod(cfg, 0o644)
    refused = runner.invoke(app, ["--config", str(cfg), "doctor"], env={"COLUMNS": "250"})
    assert refused.exit_code == 78 and "chmod 600" in refused.output
