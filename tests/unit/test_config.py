"""Config loading: discovery, types, owner-only files, secrets sources, errors naming key and file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from b24sync.config import load_config
from b24sync.errors import ConfigError
from b24sync.exitcodes import ExitCode

WEBHOOK = "https://portal.example.ru/rest/7/s3cr3tT0ken/"


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text, encoding="utf-8")
    os.chmod(path, mode)
    return path


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("B24SYNC_BITRIX24_WEBHOOK", "B24SYNC_CONFIG", "CREDENTIALS_DIRECTORY", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)


def test_defaults_and_relative_state_path(tmp_path):
    cfg = load_config(write(tmp_path / "c.toml", 'instance = "Ромашка"\n'))
    assert cfg.instance == "Ромашка"
    assert cfg.state_path == tmp_path / "Ромашка-state.db"
    assert cfg.bitrix24.requests_per_second == 2.0 and cfg.bitrix24.burst == 50
    assert cfg.bitrix24.webhook is None
    with pytest.raises(ConfigError) as err:
        cfg.require_webhook()
    assert "B24SYNC_BITRIX24_WEBHOOK" in str(err.value) and str(tmp_path / "c.toml") in str(err.value)


def test_webhook_from_environment_is_masked(tmp_path, monkeypatch):
    monkeypatch.setenv("B24SYNC_BITRIX24_WEBHOOK", WEBHOOK.rstrip("/"))
    cfg = load_config(write(tmp_path / "c.toml", ""))
    assert cfg.require_webhook().reveal() == WEBHOOK
    assert "s3cr3t" not in repr(cfg) and "s3cr3t" not in str(cfg.bitrix24.webhook)
    assert cfg.bitrix24.webhook.source == "environment variable B24SYNC_BITRIX24_WEBHOOK"


def test_webhook_from_secrets_file_and_env_wins(tmp_path, monkeypatch):
    write(tmp_path / "s.secrets", f"# comment\nB24SYNC_BITRIX24_WEBHOOK='{WEBHOOK}'\n")
    cfg_path = write(tmp_path / "c.toml", '[secrets]\nfile = "s.secrets"\n')
    assert load_config(cfg_path).require_webhook().reveal() == WEBHOOK
    monkeypatch.setenv("B24SYNC_BITRIX24_WEBHOOK", "https://other.example.ru/rest/1/abcd/")
    assert load_config(cfg_path).require_webhook().reveal() == "https://other.example.ru/rest/1/abcd/"


def test_webhook_from_own_file_and_systemd_credentials(tmp_path, monkeypatch):
    write(tmp_path / "hook", WEBHOOK + "\n")
    cfg = load_config(write(tmp_path / "c.toml", '[bitrix24]\nwebhook_file = "hook"\n'))
    assert cfg.require_webhook().reveal() == WEBHOOK
    creds = tmp_path / "creds"
    creds.mkdir()
    write(creds / "bitrix24_webhook", WEBHOOK)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    assert load_config(write(tmp_path / "d.toml", "")).require_webhook().source == "systemd credential bitrix24_webhook"


@pytest.mark.parametrize("target", ["config", "secrets", "own"])
def test_group_readable_files_are_refused(tmp_path, target):
    secrets_mode = 0o640 if target == "secrets" else 0o600
    own_mode = 0o644 if target == "own" else 0o600
    write(tmp_path / "s.secrets", f"B24SYNC_BITRIX24_WEBHOOK={WEBHOOK}\n", secrets_mode)
    write(tmp_path / "hook", WEBHOOK, own_mode)
    body = '[secrets]\nfile = "s.secrets"\n' if target == "secrets" else '[bitrix24]\nwebhook_file = "hook"\n'
    cfg_path = write(tmp_path / "c.toml", body, 0o644 if target == "config" else 0o600)
    with pytest.raises(ConfigError) as err:
        load_config(cfg_path)
    assert err.value.exit_code == ExitCode.CONFIG
    assert "chmod 600" in str(err.value)
    assert "s3cr3t" not in str(err.value)


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ("[bitrix24]\nburst = \"много\"\n", "bitrix24.burst"),
        ("[bitrix24]\nrequests_per_second = 0\n", "bitrix24.requests_per_second"),
        ("[bitrix24]\nbrust = 5\n", "bitrix24.brust"),
        ("unknown_top = 1\n", "unknown_top"),
        (f'[bitrix24]\nwebhook_url = "{WEBHOOK}"\n', "bitrix24.webhook_url"),
        ("state = 5\n", "state"),
        ('[secrets]\nfile = "absent.secrets"\n', "secrets.file"),
    ],
)
def test_errors_name_the_key_and_the_file(tmp_path, body, key):
    cfg_path = write(tmp_path / "конфиг.toml", body)
    with pytest.raises(ConfigError) as err:
        load_config(cfg_path)
    assert key in str(err.value)
    assert str(cfg_path) in str(err.value)
    assert "s3cr3t" not in str(err.value)


def test_syntax_error_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path / "c.toml", "instance = \n"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "absent.toml")


def test_malformed_webhook_is_a_config_error_without_the_value(tmp_path, monkeypatch):
    monkeypatch.setenv("B24SYNC_BITRIX24_WEBHOOK", "https://portal.example.ru/s3cr3tT0ken")
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path / "c.toml", ""))
    assert "s3cr3t" not in str(err.value)
    assert "B24SYNC_BITRIX24_WEBHOOK" in str(err.value)


def test_discovery_order(tmp_path, monkeypatch):
    env_cfg = write(tmp_path / "env.toml", 'instance = "env"\n')
    monkeypatch.setenv("B24SYNC_CONFIG", str(env_cfg))
    assert load_config().instance == "env"
    assert load_config(write(tmp_path / "opt.toml", 'instance = "opt"\n')).instance == "opt"
    monkeypatch.delenv("B24SYNC_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    (tmp_path / "xdg" / "b24sync").mkdir(parents=True)
    write(tmp_path / "xdg" / "b24sync" / "config.toml", 'instance = "xdg"\n')
    assert load_config().instance == "xdg"


def test_the_example_config_is_valid_and_documents_every_key(tmp_path):
    example = Path(__file__).resolve().parents[2] / "config.example.toml"
    cfg = load_config(write(tmp_path / "c.toml", example.read_text("utf-8")))
    assert cfg.onec.user == "Администратор" and cfg.onec.http_service_url.endswith("/hs/b24sync/v1/")
    assert cfg.onec.write_via == {"counterparty": "odata", "order": "odata", "lead": "odata"}
    text = example.read_text("utf-8")
    import dataclasses

    from b24sync.config import (
        Bitrix24Config,
        DealsConfig,
        InvoicesConfig,
        LeadsConfig,
        OneCConfig,
        ServeConfig,
        StatusesConfig,
    )

    assert cfg.deals.trigger_stages == ("Договор подписан",) and cfg.leads.qualified_statuses == ("CONVERTED",)
    for cls in (Bitrix24Config, OneCConfig, DealsConfig, LeadsConfig, InvoicesConfig, StatusesConfig, ServeConfig):
        for f in dataclasses.fields(cls):
            if f.name == "write_via":
                assert "[onec.write_via]" in text
            elif f.name in ("product_map", "manager_map", "stage_map", "map"):
                assert f".{f.name}]" in text
            elif f.name not in ("webhook", "password", "token"):
                assert f"{f.name} =" in text, f.name


def test_onec_password_and_bad_values(tmp_path, monkeypatch):
    monkeypatch.setenv("B24SYNC_ONEC_PASSWORD", "Пароль1С")
    cfg = load_config(write(tmp_path / "c.toml", '[onec]\nodata_url = "http://h/b/odata/standard.odata"\n'))
    assert cfg.require_onec_password().reveal() == "Пароль1С"
    assert cfg.onec.odata_url.endswith("/") and cfg.onec.tzinfo().key == "Europe/Moscow"
    for body, key in (('[onec]\ntimezone = "Марс/Олимп"\n', "onec.timezone"),
                      ('[onec.write_via]\norder = "ftp"\n', "onec.write_via.order"),
                      ('[onec.write_via]\ninvoice = "odata"\n', "onec.write_via.invoice")):
        with pytest.raises(ConfigError) as err:
            load_config(write(tmp_path / "d.toml", body))
        assert key in str(err.value)


def test_deals_and_leads_settings(tmp_path):
    cfg = load_config(write(tmp_path / "c.toml", '[deals]\ntrigger_stages = ["UC_K7M2QD", "C1:WON"]\n'
                            'product_match = ["name"]\norganization = "7718987650"\n[deals.product_map]\n'
                            '"12" = "7E01F79E-2364-5197-8770-666B167DBFD3"\n[leads]\nenabled = false\n'))
    assert cfg.deals.trigger_stages == ("UC_K7M2QD", "C1:WON") and cfg.deals.product_match == ("name",)
    assert cfg.deals.product_map == {"12": "7e01f79e-2364-5197-8770-666b167dbfd3"} and not cfg.leads.enabled
    for body, key in (('[deals]\nproduct_match = ["sku"]\n', "deals.product_match"),
                      ('[deals]\ntrigger_stages = []\n', "deals.trigger_stages"),
                      ('[deals.manager_map]\n"5" = "Иванов"\n', "deals.manager_map.5"),
                      ('[deals]\nagreement = "нет"\n', "deals.agreement"),
                      ('[leads]\nqualified = ["CONVERTED"]\n', "leads.qualified")):
        with pytest.raises(ConfigError) as err:
            load_config(write(tmp_path / "d.toml", body))
        assert key in str(err.value), body
