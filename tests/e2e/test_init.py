"""``b24sync init`` end to end against the sandbox: flags in, a documented 0600 config and an owner-only
secrets file out (the webhook URL never in the TOML), doctor passing, and ``reconcile --dry-run``
working on what was written; overwriting only with ``--force``; the systemd layout; the questions."""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from b24sync.cli import app
from b24sync.config import load_config
from b24sync.initconfig import Answers, render, set_key, template
from b24sync.sandbox.onec.seed import ORGANIZATIONS
from b24sync.sandbox.run import Sandbox, start_sandbox
from b24sync.secrets import Secret

runner = CliRunner()
ENV = {"COLUMNS": "250", "B24SYNC_BITRIX24_WEBHOOK": None, "B24SYNC_ONEC_PASSWORD": None, "B24SYNC_CONFIG": None,
       "CREDENTIALS_DIRECTORY": None, "XDG_CONFIG_HOME": None}
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with start_sandbox(size=24, seed=5, limits=False) as running:
        yield running


def _password_file(directory: Path, sandbox: Sandbox) -> Path:
    path = directory / "onec-password.txt"
    path.write_text(sandbox.onec.password + "\n", encoding="utf-8")
    return path


def flags(sandbox: Sandbox, directory: Path, *extra: str) -> list[str]:
    return ["init", "--instance", "acme", "--webhook-url", sandbox.bitrix24.webhook_url,
            "--odata-url", sandbox.onec.odata_url, "--odata-user", sandbox.onec.user,
            "--odata-password-file", str(_password_file(directory, sandbox)),
            "--organization", ORGANIZATIONS[0]["ИНН"], *extra]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_with_flags_then_doctor_and_a_dry_run_work(sandbox, tmp_path):
    config = tmp_path / "etc" / "acme.toml"
    result = runner.invoke(app, [*flags(sandbox, tmp_path, "--config", str(config), "--yes")], env=ENV)
    assert result.exit_code == 0, result.output
    secrets = config.with_suffix(".secrets")
    assert mode(config) == mode(secrets) == 0o600 and mode(config.parent) == 0o700
    text = config.read_text(encoding="utf-8")
    assert sandbox.bitrix24.webhook_url not in text and sandbox.bitrix24.webhook_code not in text
    assert sandbox.onec.password not in text
    assert sandbox.bitrix24.webhook_code not in result.output and sandbox.onec.password not in result.output
    assert f"B24SYNC_BITRIX24_WEBHOOK={sandbox.bitrix24.webhook_url}" in secrets.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    assert data["instance"] == "acme" and data["secrets"]["file"] == "acme.secrets"
    assert data["onec"]["odata_url"] == sandbox.onec.odata_url and data["onec"]["user"] == sandbox.onec.user
    assert data["deals"]["organization"] == ORGANIZATIONS[0]["ИНН"]
    # every documented key and its comment survive
    example = (REPO / "config.example.toml").read_text(encoding="utf-8")
    comments = [line for line in example.splitlines() if line.startswith("#") and "=" not in line]
    assert all(line in text for line in comments)
    assert set(tomllib.loads(example)) == set(data)
    loaded = load_config(config)
    assert loaded.bitrix24.webhook is not None and loaded.bitrix24.webhook.reveal() == sandbox.bitrix24.webhook_url
    assert loaded.state_path == config.parent / "acme-state.db"
    assert "created" in result.output and "Next steps" in result.output  # --yes created the user fields

    doctor = runner.invoke(app, ["--config", str(config), "doctor"], env=ENV)
    assert doctor.exit_code == 0, doctor.output
    dry = runner.invoke(app, ["--config", str(config), "reconcile", "--dry-run"], env=ENV)
    assert dry.exit_code == 0, dry.output
    assert "Dry run" in dry.output or "Nothing to do" in dry.output


def test_init_refuses_to_overwrite_without_force(sandbox, tmp_path):
    config = tmp_path / "acme.toml"
    first = runner.invoke(app, ["--config", str(config), *flags(sandbox, tmp_path, "--yes", "--no-check")], env=ENV)
    assert first.exit_code == 0, first.output
    before = config.read_text(encoding="utf-8"), config.with_suffix(".secrets").read_text(encoding="utf-8")
    again = runner.invoke(app, ["--config", str(config), *flags(sandbox, tmp_path, "--yes", "--no-check")], env=ENV)
    assert again.exit_code == 1 and "--force" in again.output and "exists already" in again.output
    assert (config.read_text(encoding="utf-8"), config.with_suffix(".secrets").read_text(encoding="utf-8")) == before
    forced = runner.invoke(app, ["--config", str(config), *flags(sandbox, tmp_path, "--yes", "--no-check", "--force")],
                           env=ENV)
    assert forced.exit_code == 0, forced.output
    backups = [config.with_name("acme.toml.bak"), config.with_name("acme.secrets.bak")]
    assert all(path.exists() and mode(path) == 0o600 for path in backups)
    assert "doctor" in forced.output  # not checked: the next steps start with doctor


def test_missing_or_malformed_answers(sandbox, tmp_path):
    config = tmp_path / "c.toml"
    missing = runner.invoke(app, ["--config", str(config), "init", "--yes", "--odata-url", sandbox.onec.odata_url],
                            env=ENV)
    assert missing.exit_code == 2 and "--webhook-url" in missing.output and not config.exists()
    wrong = flags(sandbox, tmp_path, "--yes", "--no-check")
    wrong[wrong.index("--webhook-url") + 1] = "https://portal.example.ru/rest/1/"
    result = runner.invoke(app, ["--config", str(config), *wrong], env=ENV)
    assert result.exit_code == 78 and "rest/USER_ID/TOKEN" in result.output and not config.exists()
    from_env = flags(sandbox, tmp_path, "--yes", "--no-check")
    at = from_env.index("--webhook-url")
    del from_env[at:at + 2]
    result = runner.invoke(app, ["--config", str(config), *from_env],
                           env={**ENV, "B24SYNC_BITRIX24_WEBHOOK": sandbox.bitrix24.webhook_url})
    assert result.exit_code == 0, result.output
    assert sandbox.bitrix24.webhook_url in config.with_suffix(".secrets").read_text(encoding="utf-8")


def test_the_systemd_layout(sandbox, tmp_path):
    etc, var = tmp_path / "etc" / "b24sync", tmp_path / "var" / "lib" / "b24sync"
    config = etc / "acme.toml"
    result = runner.invoke(app, [*flags(sandbox, tmp_path, "--systemd", "--config", str(config), "--state-path",
                                        str(var / "acme" / "state.db"), "--yes")], env=ENV)
    assert result.exit_code == 0, result.output
    webhook, password = etc / "acme.bitrix24_webhook", etc / "acme.onec_password"
    assert webhook.read_text(encoding="utf-8") == sandbox.bitrix24.webhook_url + "\n"
    assert password.read_text(encoding="utf-8") == sandbox.onec.password + "\n"
    assert mode(webhook) == mode(password) == mode(config) == 0o600 and mode(etc) == 0o755
    data = tomllib.loads(config.read_text(encoding="utf-8"))
    assert "file" not in data["secrets"] and data["state"]["path"] == str(var / "acme" / "state.db")
    assert "systemctl enable --now b24sync@acme.timer" in result.output and "chown b24sync:" in result.output
    assert load_config(config).bitrix24.webhook is None  # outside the service: no credentials
    credentials = tmp_path / "credentials"  # what LoadCredential= makes of the two files
    credentials.mkdir()
    for name, source in (("bitrix24_webhook", webhook), ("onec_password", password)):
        (credentials / name).write_bytes(source.read_bytes())
    doctor = runner.invoke(app, ["--config", str(config), "doctor"], env={**ENV,
                                                                         "CREDENTIALS_DIRECTORY": str(credentials)})
    assert doctor.exit_code == 0, doctor.output
    assert "systemd credential bitrix24_webhook" in doctor.output


def test_the_questions_when_run_in_a_terminal(sandbox, tmp_path, monkeypatch):
    from b24sync.cli import first_run

    answers = {"Instance name": "", "Bitrix24 inbound webhook URL": sandbox.bitrix24.webhook_url,
               "1C OData URL": sandbox.onec.odata_url, "1C user": sandbox.onec.user,
               "Password of the 1C user": sandbox.onec.password}
    asked: list[tuple[str, bool]] = []

    def ask(question: str, *, default: str | None = None, secret: bool = False) -> str:
        asked.append((question, secret))
        answer = next(value for key, value in answers.items() if question.startswith(key))
        return answer or (default or "")

    confirmations: list[str] = []
    monkeypatch.setattr(first_run, "_ask", ask)
    monkeypatch.setattr(first_run, "_confirm", lambda question, default=True: confirmations.append(question) or True)
    monkeypatch.setattr(first_run, "_terminal", lambda: True)
    config = tmp_path / "xdg" / "b24sync" / "config.toml"
    result = runner.invoke(app, ["init", "--organization", ORGANIZATIONS[0]["ИНН"]],
                           env={**ENV, "XDG_CONFIG_HOME": str(tmp_path / "xdg")})
    assert result.exit_code == 0, result.output
    assert config.exists() and tomllib.loads(config.read_text(encoding="utf-8"))["instance"] == "default"
    secret_questions = {q.split(" (")[0]: secret for q, secret in asked}
    assert secret_questions["Bitrix24 inbound webhook URL"] and secret_questions[
        f"Password of the 1C user {sandbox.onec.user}"]
    assert not secret_questions["1C OData URL"]
    assert any("Write these files" in q for q in confirmations)
    assert any("user field" in q for q in confirmations) or "present" in result.output


def test_the_packaged_example_is_the_documented_one():
    assert template() == (REPO / "config.example.toml").read_text(encoding="utf-8"), \
        "copy config.example.toml to b24sync/config.example.toml"


def test_render_keeps_the_template_and_loads(tmp_path):
    answers = Answers(config_path=tmp_path / "x.toml", instance="x", webhook=Secret("https://p.bitrix24.ru/rest/1/t/",
                                                                                     "t"),
                      odata_url='http://1c/"base"/odata/standard.odata/', user='Кладовщик "Главный"',
                      password=Secret("pw", "t"))
    data = tomllib.loads(render(answers))
    assert data["onec"]["user"] == 'Кладовщик "Главный"' and data["onec"]["odata_url"].startswith('http://1c/"')
    assert data["state"]["path"] == "x-state.db" and data["secrets"]["file"] == "x.secrets"
    with pytest.raises(ValueError):
        set_key(template(), "onec", "no_such_key", '"x"')


def test_secrets_that_need_quoting_read_back_exactly(sandbox, tmp_path):
    from b24sync.initconfig import write
    from b24sync.secrets import read_secrets_file

    for password in ('"quoted"', " spaced ", "a=b#c", "'"):
        answers = Answers(config_path=tmp_path / "q.toml", instance="q", webhook=Secret(
            sandbox.bitrix24.webhook_url, "t"), odata_url=sandbox.onec.odata_url, user="u", password=Secret(password,
                                                                                                              "t"))
        write(answers, force=True)
        assert read_secrets_file(tmp_path / "q.secrets", "x")["B24SYNC_ONEC_PASSWORD"] == password
    assert os.access(tmp_path / "q.toml", os.R_OK)
