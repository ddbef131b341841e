"""Configuration: a TOML file read into frozen, typed objects.

The file is found from ``--config PATH``, else ``$B24SYNC_CONFIG``, else
``$XDG_CONFIG_HOME/b24sync/config.toml``. It holds no secrets, only where to find them
(:mod:`b24sync.secrets`); still, it must be readable by its owner only, because it says where
the secrets are and what they unlock. Unknown keys are errors (a typo must not silently fall back
to a default), and every error names the key and the file.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from b24sync import messages as m
from b24sync.errors import ConfigError
from b24sync.i18n import t
from b24sync.recon.rules import FieldRules
from b24sync.secrets import Secret, SecretSource, check_owner_only

ENV_CONFIG = "B24SYNC_CONFIG"
ENV_BITRIX24_WEBHOOK = "B24SYNC_BITRIX24_WEBHOOK"
ENV_ONEC_PASSWORD = "B24SYNC_ONEC_PASSWORD"
ENV_APP_TOKEN = "B24SYNC_APP_TOKEN"
WRITE_PATHS = ("odata", "http_service")
WRITE_ENTITIES = ("counterparty", "order", "lead")
GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
WEBHOOK_RE = re.compile(r"^(https?://[^/\s]+(?:/[^\s]*?)?/rest/\d+/[^/\s]+)/?$")
SECRET_KEYS = {"webhook", "webhook_url", "password", "token", "app_token"}


@dataclass(frozen=True)
class Bitrix24Config:
    """How to reach and pace one Bitrix24 portal."""

    webhook: Secret | None = None
    requests_per_second: float = 2.0
    burst: int = 50
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    max_retries: int = 8
    retry_budget_seconds: float = 900.0
    incremental_overlap_seconds: float = 300.0
    webhook_env: str = ENV_BITRIX24_WEBHOOK


@dataclass(frozen=True)
class OneCConfig:
    """How to reach one 1C base: its OData root, a user, and which path each write takes."""

    odata_url: str | None = None
    user: str = ""
    password: Secret | None = None
    password_env: str = ENV_ONEC_PASSWORD
    http_service_url: str | None = None
    timezone: str = "Europe/Moscow"
    page_size: int = 1000
    honour_if_match: bool = False
    connect_timeout: float = 5.0
    read_timeout: float = 120.0
    max_retries: int = 6
    retry_budget_seconds: float = 600.0
    write_via: dict[str, str] = field(default_factory=lambda: dict.fromkeys(WRITE_ENTITIES, "odata"))

    def tzinfo(self) -> tzinfo:
        return ZoneInfo(self.timezone)


PRODUCT_MATCHES = ("ref", "article", "code", "name")


@dataclass(frozen=True)
class DealsConfig:
    """When a deal becomes a 1C customer order, and the defaults the order takes.

    ``trigger_stages`` are stage ids or names (any pipeline), resolved through ``crm.status.list``;
    ``product_match`` the ways a Bitrix24 product finds its 1C item, tried in order;
    ``product_map`` / ``manager_map`` explicit Bitrix24 id → 1C ``Ref_Key`` pairs that win over them.
    """

    enabled: bool = True
    trigger_stages: tuple[str, ...] = ("Договор подписан",)
    product_match: tuple[str, ...] = PRODUCT_MATCHES
    product_map: dict[str, str] = field(default_factory=dict)
    manager_map: dict[str, str] = field(default_factory=dict)
    organization: str = ""
    currency: str = ""
    agreement: str = ""
    post: bool = False


@dataclass(frozen=True)
class LeadsConfig:
    """Which lead statuses count as qualified (sent to 1C:CRM as an interest)."""

    enabled: bool = True
    qualified_statuses: tuple[str, ...] = ("CONVERTED",)


INVOICE_STATES = ("issued", "annulled", "deleted")


@dataclass(frozen=True)
class InvoicesConfig:
    """1C invoices → Bitrix24 smart invoices attached to the deal of their order.

    ``stage_map`` maps an invoice's state in 1C (``issued``, ``annulled``, ``deleted``) to a smart
    invoice stage (id or name); unmapped states use the first stage and the failure stage.
    """

    enabled: bool = True
    target: str = "smart"
    require_order: bool = True
    stage_map: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StatusesConfig:
    """1C order statuses → deal stages (ids or names in the deal's own pipeline)."""

    enabled: bool = True
    owned_by_1c: bool = False
    map: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ServeConfig:
    """The event receiver: where it listens, the application token it checks, its queue's rules."""

    token: Secret | None = None
    token_env: str = ENV_APP_TOKEN
    host: str = "127.0.0.1"
    port: int = 8808
    path: str = "/bitrix24/events"
    threads: int = 8
    max_body_bytes: int = 65536
    dedupe_seconds: float = 30.0
    max_attempts: int = 8
    batch_size: int = 200


@dataclass(frozen=True)
class Config:
    """The whole configuration of one b24sync instance (one portal, one 1C base)."""

    path: Path
    instance: str = "default"
    state_path: Path = field(default_factory=lambda: Path("b24sync-state.db"))
    secrets_file: Path | None = None
    bitrix24: Bitrix24Config = field(default_factory=Bitrix24Config)
    onec: OneCConfig = field(default_factory=OneCConfig)
    fields: FieldRules = field(default_factory=FieldRules)
    max_changes: int | None = None
    deals: DealsConfig = field(default_factory=DealsConfig)
    leads: LeadsConfig = field(default_factory=LeadsConfig)
    invoices: InvoicesConfig = field(default_factory=InvoicesConfig)
    statuses: StatusesConfig = field(default_factory=StatusesConfig)
    serve: ServeConfig = field(default_factory=ServeConfig)

    def require_app_token(self) -> Secret:
        """The application token of the outgoing webhook, or a configuration error saying where to put it."""
        if self.serve.token is None:
            raise ConfigError(t(m.APP_TOKEN_MISSING, path=self.path, env=self.serve.token_env))
        return self.serve.token

    def require_onec_password(self) -> Secret:
        """The 1C user's password, or a configuration error saying where to put it."""
        if self.onec.password is None:
            raise ConfigError(t(m.ONEC_PASSWORD_MISSING, path=self.path, env=self.onec.password_env))
        return self.onec.password

    def require_webhook(self) -> Secret:
        """The Bitrix24 webhook URL, or a configuration error saying where to put it."""
        if self.bitrix24.webhook is None:
            raise ConfigError(t(m.WEBHOOK_MISSING, path=self.path, env=self.bitrix24.webhook_env))
        return self.bitrix24.webhook


def default_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "b24sync" / "config.toml"


def find_config(explicit: str | Path | None) -> Path:
    """The config file to use: the option, then the environment, then the XDG location."""
    if explicit:
        return Path(explicit)
    if env := os.environ.get(ENV_CONFIG):
        return Path(env)
    return default_config_path()


class _Table:
    """Typed access to one TOML table that remembers which keys were read."""

    def __init__(self, data: dict[str, Any], prefix: str, path: Path) -> None:
        self.data, self.prefix, self.path = data, prefix, path
        self.seen: set[str] = set()

    def name(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def get(self, key: str, kind: type, default: Any) -> Any:
        self.seen.add(key)
        if key not in self.data:
            return default
        value = self.data[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ConfigError(
                t(m.CONFIG_WRONG_TYPE, key=self.name(key), path=self.path, expected=kind.__name__,
                  got=type(value).__name__)
            )
        return value

    def positive(self, key: str, kind: type, default: Any) -> Any:
        value = self.get(key, kind, default)
        if value <= 0:
            raise ConfigError(t(m.CONFIG_NOT_POSITIVE, key=self.name(key), path=self.path, value=value))
        return value

    def table(self, key: str) -> _Table:
        self.seen.add(key)
        value = self.data.get(key, {})
        if not isinstance(value, dict):
            raise ConfigError(t(m.CONFIG_WRONG_TYPE, key=self.name(key), path=self.path, expected="table",
                                got=type(value).__name__))
        return _Table(value, f"{self.prefix}{key}.", self.path)

    def path_value(self, key: str, default: str | None) -> Path | None:
        raw = self.get(key, str, default)
        if not raw:
            return None
        candidate = Path(os.path.expanduser(raw))
        return candidate if candidate.is_absolute() else self.path.parent / candidate

    def reject_unknown(self) -> None:
        for key in self.data:
            if key in SECRET_KEYS:
                raise ConfigError(t(m.CONFIG_SECRET_INLINE, key=self.name(key), path=self.path))
            if key not in self.seen:
                raise ConfigError(t(m.CONFIG_UNKNOWN_KEY, key=self.name(key), path=self.path))


def load_config(path: str | Path | None = None) -> Config:
    """Read, validate and resolve the configuration (including where its secrets come from)."""
    config_path = find_config(path)
    if not config_path.is_file():
        raise ConfigError(t(m.CONFIG_NOT_FOUND, path=config_path))
    check_owner_only(config_path, "--config")
    try:
        with config_path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(t(m.CONFIG_SYNTAX, path=config_path, reason=str(exc))) from None
    root = _Table(data, "", config_path)
    instance = root.get("instance", str, "default")
    state = root.table("state")
    state_path = state.path_value("path", f"{instance}-state.db")
    state.reject_unknown()
    secrets = root.table("secrets")
    secrets_file = secrets.path_value("file", None)
    secrets.reject_unknown()
    if secrets_file is not None and not secrets_file.is_file():
        raise ConfigError(t(m.CONFIG_FILE_MISSING, key="secrets.file", path=config_path, file=secrets_file))
    bitrix24 = _load_bitrix24(root.table("bitrix24"), secrets_file, config_path)
    onec = _load_onec(root.table("onec"), secrets_file, config_path)
    fields_table = root.table("fields")
    fields_table.seen.update(fields_table.data)
    try:
        rules = FieldRules.from_dict(fields_table.data)
    except ConfigError as exc:
        raise ConfigError(t(m.CONFIG_IN_FILE, message=exc, path=config_path)) from None
    sync = root.table("reconcile")
    max_changes = sync.get("max_changes", int, 0) or None
    sync.reject_unknown()
    deals = _load_deals(root.table("deals"))
    leads = _load_leads(root.table("leads"))
    invoices = _load_invoices(root.table("invoices"))
    statuses = _load_statuses(root.table("statuses"))
    serve = _load_serve(root.table("serve"), secrets_file, config_path)
    root.reject_unknown()
    assert state_path is not None
    return Config(path=config_path, instance=instance, state_path=state_path, secrets_file=secrets_file,
                  bitrix24=bitrix24, onec=onec, fields=rules, max_changes=max_changes, deals=deals, leads=leads,
                  invoices=invoices, statuses=statuses, serve=serve)


def _strings(table: _Table, key: str, default: tuple[str, ...], allowed: tuple[str, ...] | None = None,
             ) -> tuple[str, ...]:
    values = table.get(key, list, list(default))
    if not values or not all(isinstance(v, str) and v.strip() for v in values):
        raise ConfigError(t(m.CONFIG_WRONG_TYPE, key=table.name(key), path=table.path,
                            expected="non-empty list of strings", got=repr(values)))
    for value in values:
        if allowed is not None and value not in allowed:
            raise ConfigError(t(m.CONFIG_BAD_CHOICE, key=table.name(key), path=table.path, value=value,
                                allowed=", ".join(allowed)))
    return tuple(v.strip() for v in values)


def _id_map(table: _Table, key: str) -> dict[str, str]:
    sub = table.table(key)
    sub.seen.update(sub.data)
    out = {}
    for b24_id, ref in sub.data.items():
        if not (str(b24_id).isdigit() and isinstance(ref, str) and GUID_RE.match(ref)):
            raise ConfigError(t(m.CONFIG_BAD_MAP, key=sub.name(str(b24_id)), path=table.path, value=ref))
        out[str(b24_id)] = ref.lower()
    return out


def _load_deals(table: _Table) -> DealsConfig:
    config = DealsConfig(
        enabled=table.get("enabled", bool, True),
        trigger_stages=_strings(table, "trigger_stages", DealsConfig.trigger_stages),
        product_match=_strings(table, "product_match", PRODUCT_MATCHES, PRODUCT_MATCHES),
        product_map=_id_map(table, "product_map"),
        manager_map=_id_map(table, "manager_map"),
        organization=table.get("organization", str, "").strip(),
        currency=table.get("currency", str, "").strip(),
        agreement=table.get("agreement", str, "").strip().lower(),
        post=table.get("post", bool, False),
    )
    if config.agreement and not GUID_RE.match(config.agreement):
        raise ConfigError(t(m.CONFIG_BAD_MAP, key=table.name("agreement"), path=table.path, value=config.agreement))
    table.reject_unknown()
    return config


def _load_leads(table: _Table) -> LeadsConfig:
    config = LeadsConfig(enabled=table.get("enabled", bool, True),
                         qualified_statuses=_strings(table, "qualified_statuses", LeadsConfig.qualified_statuses))
    table.reject_unknown()
    return config


def _load_bitrix24(table: _Table, secrets_file: Path | None, config_path: Path) -> Bitrix24Config:
    env = table.get("webhook_env", str, ENV_BITRIX24_WEBHOOK)
    source = SecretSource(env=env, secrets_file=secrets_file, own_file=table.path_value("webhook_file", None),
                          credential="bitrix24_webhook")
    webhook = source.resolve(table.name("webhook_file"), config_path)
    if webhook is not None:
        match = WEBHOOK_RE.match(webhook.reveal().strip())
        if not match:
            raise ConfigError(t(m.WEBHOOK_MALFORMED, source=webhook.source, path=config_path))
        webhook = Secret(match.group(1) + "/", webhook.source)
    config = Bitrix24Config(
        webhook=webhook,
        webhook_env=env,
        requests_per_second=table.positive("requests_per_second", float, 2.0),
        burst=table.positive("burst", int, 50),
        connect_timeout=table.positive("connect_timeout", float, 5.0),
        read_timeout=table.positive("read_timeout", float, 60.0),
        max_retries=table.positive("max_retries", int, 8),
        retry_budget_seconds=table.positive("retry_budget_seconds", float, 900.0),
        incremental_overlap_seconds=table.get("incremental_overlap_seconds", float, 300.0),
    )
    table.reject_unknown()
    return config


def _load_onec(table: _Table, secrets_file: Path | None, config_path: Path) -> OneCConfig:
    env = table.get("password_env", str, ENV_ONEC_PASSWORD)
    source = SecretSource(env=env, secrets_file=secrets_file, own_file=table.path_value("password_file", None),
                          credential="onec_password")
    odata_url = table.get("odata_url", str, "") or None
    if odata_url and not odata_url.endswith("/"):
        odata_url += "/"
    http_service_url = table.get("http_service_url", str, "") or None
    if http_service_url is None and odata_url and "/odata/standard.odata/" in odata_url:
        http_service_url = odata_url.replace("/odata/standard.odata/", "/hs/b24sync/v1/")
    zone = table.get("timezone", str, "Europe/Moscow")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(t(m.ONEC_BAD_TIMEZONE, path=config_path, value=zone)) from None
    via_table = table.table("write_via")
    write_via = {}
    for name in WRITE_ENTITIES:
        value = via_table.get(name, str, "odata")
        if value not in WRITE_PATHS:
            raise ConfigError(t(m.ONEC_BAD_WRITE_PATH, entity=name, path=config_path, value=value))
        write_via[name] = value
    via_table.reject_unknown()
    config = OneCConfig(
        odata_url=odata_url,
        user=table.get("user", str, ""),
        password=source.resolve(table.name("password_file"), config_path),
        password_env=env,
        http_service_url=http_service_url,
        timezone=zone,
        page_size=table.positive("page_size", int, 1000),
        honour_if_match=table.get("honour_if_match", bool, False),
        connect_timeout=table.positive("connect_timeout", float, 5.0),
        read_timeout=table.positive("read_timeout", float, 120.0),
        max_retries=table.positive("max_retries", int, 6),
        retry_budget_seconds=table.positive("retry_budget_seconds", float, 600.0),
        write_via=write_via,
    )
    table.reject_unknown()
    return config


def _text_map(table: _Table, key: str, allowed: tuple[str, ...] | None = None) -> dict[str, str]:
    sub = table.table(key)
    sub.seen.update(sub.data)
    out = {}
    for name, value in sub.data.items():
        if allowed is not None and name not in allowed:
            raise ConfigError(t(m.CONFIG_BAD_CHOICE, key=sub.name(str(name)), path=table.path, value=name,
                                allowed=", ".join(allowed)))
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(t(m.CONFIG_WRONG_TYPE, key=sub.name(str(name)), path=table.path, expected="string",
                                got=type(value).__name__))
        out[str(name)] = value.strip()
    return out


def _load_invoices(table: _Table) -> InvoicesConfig:
    target = table.get("target", str, "smart")
    if target not in ("smart", "legacy"):
        raise ConfigError(t(m.CONFIG_BAD_CHOICE, key=table.name("target"), path=table.path, value=target,
                            allowed="smart, legacy"))
    config = InvoicesConfig(enabled=table.get("enabled", bool, True), target=target,
                            require_order=table.get("require_order", bool, True),
                            stage_map=_text_map(table, "stage_map", INVOICE_STATES))
    table.reject_unknown()
    return config


def _load_statuses(table: _Table) -> StatusesConfig:
    config = StatusesConfig(enabled=table.get("enabled", bool, True), owned_by_1c=table.get("owned_by_1c", bool, False),
                            map=_text_map(table, "map"))
    table.reject_unknown()
    return config


def _load_serve(table: _Table, secrets_file: Path | None, config_path: Path) -> ServeConfig:
    env = table.get("token_env", str, ENV_APP_TOKEN)
    source = SecretSource(env=env, secrets_file=secrets_file, own_file=table.path_value("token_file", None),
                          credential="bitrix24_app_token")
    path = table.get("path", str, "/bitrix24/events")
    if not path.startswith("/") or path == "/healthz":
        raise ConfigError(t(m.CONFIG_BAD_CHOICE, key=table.name("path"), path=config_path, value=path,
                            allowed="a path starting with / other than /healthz"))
    config = ServeConfig(
        token=source.resolve(table.name("token_file"), config_path), token_env=env,
        host=table.get("host", str, "127.0.0.1"), port=table.get("port", int, 8808), path=path,
        threads=table.positive("threads", int, 8), max_body_bytes=table.positive("max_body_bytes", int, 65536),
        dedupe_seconds=table.get("dedupe_seconds", float, 30.0), max_attempts=table.positive("max_attempts", int, 8),
        batch_size=table.positive("batch_size", int, 200),
    )
    table.reject_unknown()
    return config
