"""``b24sync doctor``: can this configuration work, and what is missing?

Each check reports ok / warning / failed with what it found and, when not ok, the fix a Bitrix24
or 1C administrator can act on. A failing side does not stop the other side's checks; within a
side, a check that everything after it depends on (reachability, then authentication) stops that
side, so one cause gives one failure, not ten. Remote calls are retried briefly at most: the
doctor answers in seconds, not after the whole retry budget of a run.

The checks: the state file (writable, intact, schema, writes in doubt); for Bitrix24 the
connection and TLS, the webhook's access and its scopes (``scope``: crm, user), the user fields
(``fix=True`` creates the missing ones, only those), the configured stages; for 1C the connection
and TLS, the user, the OData publication of every entity set the enabled flows read, the selling
organization, the b24sync HTTP service; and the clocks of both systems against each other and
this machine (Bitrix24 ``server.time``, the 1C web server's ``Date``). Secrets are reported by
where they come from, never by value.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from b24sync import messages as m
from b24sync.checks import FAIL, FIXED, OK, WARN, Check
from b24sync.config import Config
from b24sync.errors import B24SyncError, ConfigError
from b24sync.http.retry import RetryPolicy
from b24sync.http.transport import Timeouts
from b24sync.i18n import t
from b24sync.probe import (
    DNS,
    REFUSED,
    TIMEOUT,
    TLS_EXPIRED,
    TLS_HOSTNAME,
    TLS_OTHER,
    TLS_UNTRUSTED,
    Probe,
    probe,
)
from b24sync.statecheck import state_checks

__all__ = ["FAIL", "FIXED", "OK", "WARN", "Check", "REQUIRED_ONEC_SETS", "REQUIRED_USERFIELDS", "needed_onec_sets",
           "run_doctor"]

REQUIRED_USERFIELDS: tuple[tuple[str, str, str], ...] = (
    ("company", "UF_CRM_1C_ID", "Ссылка 1С (b24sync)"),
    ("contact", "UF_CRM_1C_ID", "Ссылка 1С (b24sync)"),
    ("deal", "UF_CRM_1C_ORDER_ID", "Заказ клиента 1С (b24sync)"),
    ("lead", "UF_CRM_1C_LEAD_ID", "Интерес 1С (b24sync)"),
)
REQUIRED_ONEC_SETS = ("Catalog_Контрагенты", "Catalog_Партнеры", "Catalog_ВидыКонтактнойИнформации",
                      "Catalog_Пользователи")
DOCUMENT_SETS = ("Catalog_Номенклатура", "Catalog_СтавкиНДС", "Catalog_Организации", "Catalog_Валюты")
ORDERS, INTERESTS, INVOICES = "Document_ЗаказКлиента", "Document_CRM_Интерес", "Document_СчетНаОплатуКлиенту"
NEEDED_SCOPES = ("crm", "user")
USER_SCOPES = ("user", "user_basic")  # user_brief hides the e-mails managers are matched by
SKEW_LIMIT = 60.0  # seconds of clock difference tolerated
CERT_RENEW_DAYS = 14

Clock = Callable[[], float]


def needed_onec_sets(config: Config) -> list[str]:
    """The 1C entity sets the enabled flows read or write (in a stable order)."""
    sets = list(REQUIRED_ONEC_SETS)
    if any(getattr(config, flow).enabled for flow in ("deals", "leads", "invoices", "statuses")):
        sets += DOCUMENT_SETS
    if config.deals.enabled or config.invoices.enabled or config.statuses.enabled:
        sets.append(ORDERS)
    if config.leads.enabled:
        sets.append(INTERESTS)
    if config.invoices.enabled:
        sets.append(INVOICES)
    return sets


def _needed_userfields(config: Config) -> list[tuple[str, str, str]]:
    entities = {"company", "contact"}
    if config.deals.enabled or config.invoices.enabled or config.statuses.enabled:
        entities.add("deal")
    if config.leads.enabled:
        entities.add("lead")
    return [row for row in REQUIRED_USERFIELDS if row[0] in entities]


def _guard(checks: list[Check], name: str, fn: Callable[[], Any], fix: Callable[[B24SyncError], str] | None = None,
           ) -> Any:
    try:
        return fn()
    except B24SyncError as exc:
        checks.append(Check(name, FAIL, str(exc), fix(exc) if fix else ""))
        return None


def run_doctor(config: Config, *, fix: bool = False, clock: Clock = time.time) -> list[Check]:
    """Run every check; with ``fix``, create missing Bitrix24 user fields. ``clock`` is this machine's."""
    checks = [Check(t(m.CHECK_CONFIG), OK, t(m.CHECK_CONFIG_DETAIL, instance=config.instance, path=config.path))]
    checks += state_checks(config.state_path)
    skews: dict[str, float] = {}
    checks += _bitrix24_checks(config, fix, skews, clock)
    checks += _onec_checks(config, skews, clock)
    checks += _clock_checks(skews)
    return checks


# -- reachability and TLS (both systems) -------------------------------------------------------------


def _connection_checks(system: str, url: str, timeout: float, secret: str) -> tuple[list[Check], bool]:
    """The connection and TLS lines for one server; ``False`` when the API calls cannot work."""
    result = probe(url, timeout)
    connection, tls = t(m.CHECK_CONNECTION, system=system), t(m.CHECK_TLS, system=system)
    if result.proxied:
        return [Check(connection, OK, t(m.PROBE_PROXIED, address=result.address))], True
    if result.failure is not None and not result.failure.startswith("tls"):
        detail, fix = {
            DNS: (m.PROBE_DNS, m.PROBE_DNS_FIX),
            REFUSED: (m.PROBE_REFUSED, m.PROBE_REFUSED_FIX),
            TIMEOUT: (m.PROBE_TIMEOUT, m.PROBE_TIMEOUT_FIX),
        }.get(result.failure or "", (m.PROBE_NETWORK, m.PROBE_NETWORK_FIX))
        values = {"host": result.host, "address": result.address, "reason": result.reason, "scheme": result.scheme}
        return [Check(connection, FAIL, t(detail, **values), t(fix, **values))], False
    checks = [Check(connection, OK, t(m.PROBE_CONNECTED, address=result.address, ms=round(result.seconds * 1000)))]
    checks.append(_tls_check(tls, result, secret))
    return checks, checks[-1].status != FAIL


def _tls_check(name: str, result: Probe, secret: str) -> Check:
    values = {"host": result.host, "address": result.address, "reason": result.reason}
    if result.failure is not None:
        detail, fix = {
            TLS_UNTRUSTED: (m.TLS_UNTRUSTED, m.TLS_UNTRUSTED_FIX),
            TLS_EXPIRED: (m.TLS_EXPIRED, m.TLS_EXPIRED_FIX),
            TLS_HOSTNAME: (m.TLS_HOSTNAME, m.TLS_HOSTNAME_FIX),
            TLS_OTHER: (m.TLS_HANDSHAKE, m.TLS_HANDSHAKE_FIX),
        }[result.failure]
        return Check(name, FAIL, t(detail, **values), t(fix, **values))
    if result.scheme != "https":
        if result.loopback:
            return Check(name, OK, t(m.TLS_LOOPBACK))
        return Check(name, WARN, t(m.TLS_PLAIN, secret=secret), t(m.TLS_PLAIN_FIX))
    until = result.not_after.date().isoformat() if result.not_after else "?"
    detail = t(m.TLS_VERIFIED, version=result.tls_version, issuer=result.issuer or "?", until=until)
    if result.not_after is not None and result.not_after - datetime.now(UTC) < timedelta(days=CERT_RENEW_DAYS):
        return Check(name, WARN, detail, t(m.TLS_RENEW_FIX, host=result.host, until=until))
    return Check(name, OK, detail)


# -- Bitrix24 ----------------------------------------------------------------------------------------


def _b24_fix(config: Config, source: str) -> Callable[[B24SyncError], str]:
    from b24sync.sources.bitrix24.errors import AccessDenied, AuthError, MethodNotFound

    def fix(exc: B24SyncError) -> str:
        if isinstance(exc, AuthError):
            return t(m.B24_AUTH_FIX, source=source, env=config.bitrix24.webhook_env)
        if isinstance(exc, AccessDenied):
            return t(m.B24_ACCESS_FIX)
        if isinstance(exc, MethodNotFound):
            return t(m.B24_NOT_WEBHOOK_FIX, source=source)
        return t(m.B24_DOWN_FIX)

    return fix


def _bitrix24_checks(config: Config, fix: bool, skews: dict[str, float], clock: Clock) -> list[Check]:
    from b24sync.sources.bitrix24.client import Bitrix24Client

    checks: list[Check] = []
    webhook = _guard(checks, t(m.CHECK_B24_SECRET), config.require_webhook,
                     lambda exc: t(m.B24_SECRET_FIX, env=config.bitrix24.webhook_env, path=config.path))
    if webhook is None:
        return checks
    checks.append(Check(t(m.CHECK_B24_SECRET), OK, t(m.CHECK_SECRET_FROM, source=webhook.source)))
    b24 = config.bitrix24
    reachable, ok = _connection_checks("Bitrix24", webhook.reveal(), b24.connect_timeout, t(m.SECRET_WEBHOOK))
    checks += reachable
    if not ok:
        return checks
    retry = RetryPolicy(max_attempts=min(b24.max_retries, 3), budget=min(b24.retry_budget_seconds, 20.0))
    client = Bitrix24Client.from_config(config, retry=retry,
                                        timeouts=Timeouts(b24.connect_timeout, min(b24.read_timeout, 30.0)))
    fixes = _b24_fix(config, webhook.source)
    profile = _guard(checks, t(m.CHECK_B24_REACH), lambda: client.call("profile"), fixes)
    if profile is None:
        return checks
    admin = profile.get("ADMIN") in (True, "Y", "true", 1)
    user = " ".join(filter(None, (profile.get("NAME"), profile.get("LAST_NAME")))) or str(profile.get("ID"))
    detail = t(m.CHECK_B24_REACH_DETAIL, portal=client.portal, user=user, admin=admin)
    checks.append(Check(t(m.CHECK_B24_REACH), OK, detail) if admin else
                  Check(t(m.CHECK_B24_REACH), WARN, detail + "; " + t(m.CHECK_B24_ADMIN), t(m.CHECK_B24_ADMIN_FIX)))
    has_crm = _scope_check(checks, client, fixes)
    if has_crm:
        _userfield_checks(checks, config, client, fix, fixes)
        _stage_checks(checks, config, client)
    _portal_clock(checks, client, skews, clock)
    return checks


def _scope_check(checks: list[Check], client: Any, fixes: Callable[[B24SyncError], str]) -> bool:
    """The webhook's scopes; ``False`` when it has no crm scope (every CRM check would only repeat that)."""
    name = t(m.CHECK_B24_SCOPES)
    scopes = _guard(checks, name, lambda: client.call("scope"), fixes)
    if scopes is None:
        return True  # unknown: let the CRM checks speak for themselves
    have = {str(s) for s in (scopes.values() if isinstance(scopes, dict) else scopes or [])}
    missing = [s for s in NEEDED_SCOPES if s not in have and not (s == "user" and have & set(USER_SCOPES))]
    if missing:
        labels = {"crm": "CRM (crm)", "user": "Пользователи (user)"}
        extra = t(m.SCOPE_USER_BRIEF) if "user" in missing and "user_brief" in have else ""
        checks.append(Check(name, FAIL, t(m.SCOPE_MISSING, missing=", ".join(missing), have=", ".join(sorted(have)) or
                                          "-") + extra,
                            t(m.SCOPE_FIX, labels=", ".join(labels[s] for s in missing))))
    else:
        checks.append(Check(name, OK, ", ".join(sorted(have))))
    return "crm" not in missing


def _userfield_checks(checks: list[Check], config: Config, client: Any, fix: bool,
                      fixes: Callable[[B24SyncError], str]) -> None:
    from b24sync.sources.bitrix24.reference import userfields

    for entity_name, field, label in _needed_userfields(config):
        name = t(m.CHECK_B24_FIELD, entity=entity_name, field=field)
        existing = _guard(checks, name, lambda e=entity_name: {f["FIELD_NAME"] for f in userfields(client, e)}, fixes)
        if existing is None:
            continue
        if field in existing:
            checks.append(Check(name, OK, t(m.CHECK_FIELD_PRESENT)))
        elif fix:
            created = _guard(checks, name, lambda e=entity_name, f=field, lb=label: client.call(
                f"crm.{e}.userfield.add",
                {"fields": {"FIELD_NAME": f.removeprefix("UF_CRM_"), "USER_TYPE_ID": "string", "XML_ID": f,
                            "EDIT_FORM_LABEL": lb, "LIST_COLUMN_LABEL": lb, "LIST_FILTER_LABEL": lb,
                            "SHOW_FILTER": "Y"}}), lambda exc: t(m.CHECK_FIELD_CREATE_FIX))
            if created is not None:
                checks.append(Check(name, FIXED, t(m.CHECK_FIELD_CREATED)))
        else:
            checks.append(Check(name, FAIL, t(m.CHECK_FIELD_MISSING), t(m.CHECK_FIELD_MISSING_FIX)))


def _stage_checks(checks: list[Check], config: Config, client: Any) -> None:
    """The configured trigger stages and qualified lead statuses exist on the portal (else a run stops, 78)."""
    if not (config.deals.enabled or config.leads.enabled):
        return
    from b24sync.documents.stages import Statuses

    statuses = _guard(checks, t(m.CHECK_B24_STAGES), lambda: Statuses(client))
    if statuses is None:
        return
    wanted = []
    if config.deals.enabled:
        wanted.append((statuses.deal_stages, config.deals.trigger_stages, "deals.trigger_stages"))
    if config.leads.enabled:
        wanted.append((statuses.lead_statuses, config.leads.qualified_statuses, "leads.qualified_statuses"))
    found = []
    for resolve, values, key in wanted:
        try:
            ids = resolve(values)
        except ConfigError as exc:
            checks.append(Check(t(m.CHECK_B24_STAGES), FAIL, str(exc), t(m.STAGES_FIX, key=key, path=config.path)))
            return
        found.append(f"{key}: " + ", ".join(f"{sid} «{label}»" for sid, label in list(ids.items())[:6]))
    checks.append(Check(t(m.CHECK_B24_STAGES), OK, "; ".join(found)))


def _portal_clock(checks: list[Check], client: Any, skews: dict[str, float], clock: Clock) -> None:
    from b24sync.sources.bitrix24.read import portal_now

    before = clock()
    try:
        moment = portal_now(client)
    except (B24SyncError, ValueError) as exc:
        checks.append(Check(t(m.CHECK_CLOCKS), WARN, t(m.CLOCK_UNREAD, system="Bitrix24 (server.time)", reason=exc)))
        return
    skews["Bitrix24"] = moment.timestamp() - (before + clock()) / 2


# -- 1C ----------------------------------------------------------------------------------------------


def _onec_fix(config: Config, source: str) -> Callable[[B24SyncError], str]:
    from b24sync.sources.onec.errors import AuthError, NotFound, OneCError

    def fix(exc: B24SyncError) -> str:
        if isinstance(exc, AuthError):
            return t(m.ONEC_AUTH_FIX, user=config.onec.user, path=config.path, source=source)
        if isinstance(exc, NotFound):
            return t(m.ONEC_PUBLICATION_FIX, path=config.path)
        if isinstance(exc, OneCError) and exc.status == 200:  # an HTML page instead of OData
            return t(m.ONEC_PUBLICATION_FIX, path=config.path)
        return t(m.ONEC_DOWN_FIX)

    return fix


def _onec_checks(config: Config, skews: dict[str, float], clock: Clock) -> list[Check]:
    from b24sync.sources.onec.client import OneCClient

    checks: list[Check] = []
    onec = config.onec
    if not onec.odata_url:
        return [Check(t(m.CHECK_ONEC_REACH), FAIL, t(m.CHECK_ONEC_NOT_CONFIGURED),
                      t(m.ONEC_NOT_CONFIGURED_FIX, path=config.path))]
    password = _guard(checks, t(m.CHECK_ONEC_SECRET), config.require_onec_password,
                      lambda exc: t(m.ONEC_SECRET_FIX, env=onec.password_env, path=config.path))
    if password is None:
        return checks
    checks.append(Check(t(m.CHECK_ONEC_SECRET), OK, t(m.CHECK_SECRET_FROM, source=password.source)))
    reachable, ok = _connection_checks("1C", onec.odata_url, onec.connect_timeout, t(m.SECRET_PASSWORD))
    checks += reachable
    if not ok:
        return checks
    retry = RetryPolicy(max_attempts=min(onec.max_retries, 3), budget=min(onec.retry_budget_seconds, 20.0))
    timeouts = Timeouts(onec.connect_timeout, min(onec.read_timeout, 60.0))
    client = OneCClient(onec.odata_url, onec.user, password, server_tz=onec.tzinfo(), retry=retry, timeouts=timeouts)
    fixes = _onec_fix(config, password.source)
    metadata = _guard(checks, t(m.CHECK_ONEC_REACH), client.metadata, fixes)
    if metadata is None:
        return checks
    needed = needed_onec_sets(config)
    missing = [name for name in needed if name not in metadata]
    count = "?" if "Catalog_Контрагенты" in missing else _guard(
        checks, t(m.CHECK_ONEC_REACH), lambda: client.count("Catalog_Контрагенты"), fixes)
    if count is None:
        return checks
    checks.append(Check(t(m.CHECK_ONEC_REACH), OK, t(m.CHECK_ONEC_REACH_DETAIL, url=onec.odata_url, user=onec.user,
                                                      count=count)))
    if missing:
        checks.append(Check(t(m.CHECK_ONEC_SETS), FAIL, t(m.CHECK_ONEC_SETS_MISSING, names=", ".join(missing),
                                                          count=len(missing), total=len(needed)),
                            t(m.CHECK_ONEC_SETS_FIX, names=", ".join(missing), user=onec.user)))
    else:
        checks.append(Check(t(m.CHECK_ONEC_SETS), OK, t(m.CHECK_ONEC_SETS_OK, count=len(needed))))
    if config.deals.enabled and "Catalog_Организации" not in missing:
        _organization_check(checks, config, client, fixes)
    _service_checks(checks, config, password)
    probe_set = next((name for name in needed if name not in missing), None)
    if probe_set is not None:
        before = clock()
        try:
            moment = client.server_date(probe_set)
        except B24SyncError as exc:
            checks.append(Check(t(m.CHECK_CLOCKS), WARN, t(m.CLOCK_UNREAD, system="1C (Date)", reason=exc)))
        else:
            if moment is not None:
                skews["1C"] = moment.timestamp() - (before + clock()) / 2
    return checks


def _organization_check(checks: list[Check], config: Config, client: Any, fixes: Callable[[B24SyncError], str],
                        ) -> None:
    from b24sync.documents.catalog import ORGANIZATIONS, OneCCatalog

    name = t(m.CHECK_ONEC_ORGANIZATION)
    rows = _guard(checks, name, lambda: client.query(ORGANIZATIONS, select=["Ref_Key", "Description", "ИНН",
                                                                             "DeletionMark"]), fixes)
    if rows is None:
        return
    live = [row for row in rows if not row.get("DeletionMark")]
    try:
        ref = OneCCatalog(organizations=live).organization_ref(config.deals.organization)
    except ConfigError as exc:
        example = next((str(row.get("ИНН")) for row in live if row.get("ИНН")), "7701234567")
        checks.append(Check(name, FAIL, str(exc), t(m.ORGANIZATION_FIX, path=config.path, example=example)))
        return
    chosen = next(row for row in live if row["Ref_Key"] == ref)
    checks.append(Check(name, OK, f"{chosen.get('Description')} (ИНН {chosen.get('ИНН') or '—'})"))


def _service_checks(checks: list[Check], config: Config, password: Any) -> None:
    from b24sync.sources.onec.service import ServiceClient

    onec = config.onec
    if not onec.http_service_url:
        return
    needed = "http_service" in onec.write_via.values()
    retry = RetryPolicy(max_attempts=min(onec.max_retries, 2), budget=min(onec.retry_budget_seconds, 10.0))
    service = ServiceClient(onec.http_service_url, onec.user, password, retry=retry,
                            timeouts=Timeouts(onec.connect_timeout, min(onec.read_timeout, 30.0)))
    name = t(m.CHECK_ONEC_HS)
    try:
        info = service.version()
    except B24SyncError as exc:
        if needed:
            checks.append(Check(name, FAIL, str(exc), t(m.ONEC_HS_FIX, path=config.path)))
        else:
            checks.append(Check(name, OK, t(m.CHECK_ONEC_HS_ABSENT, reason=exc)))
        return
    configuration = info.get("configuration", {})
    checks.append(Check(name, OK, t(m.CHECK_ONEC_HS_DETAIL, configuration=" ".join(
        filter(None, (configuration.get("synonym") or configuration.get("name"), configuration.get("version")))),
        version=info.get("contract_version"))))
    zone = str(info.get("time_zone") or "")
    if zone and _zone_differs(zone, onec.timezone):
        checks.append(Check(t(m.CHECK_ONEC_ZONE), FAIL, t(m.ONEC_ZONE_DIFFERS, zone=zone, configured=onec.timezone),
                            t(m.ONEC_ZONE_FIX, zone=zone, path=config.path)))


def _zone_differs(reported: str, configured: str) -> bool:
    """Whether two zones give different UTC offsets now or half a year from now (summer time)."""
    try:
        a, b = ZoneInfo(reported), ZoneInfo(configured)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    now = datetime.now(UTC)
    return any(moment.astimezone(a).utcoffset() != moment.astimezone(b).utcoffset()
               for moment in (now, now + timedelta(days=182)))


# -- clocks ------------------------------------------------------------------------------------------


def _signed(seconds: float) -> str:
    return f"{round(seconds):+d} s"


def _clock_checks(skews: dict[str, float]) -> list[Check]:
    """Bitrix24 and 1C against each other (a fault: edits are ordered by their times) and against
    this machine (a warning: b24sync reads by the portal's clock, but logs, TLS and ages use ours)."""
    if not skews:
        return []
    name = t(m.CHECK_CLOCKS)
    detail = t(m.CLOCK_DETAIL, skews=", ".join(f"{system} {_signed(value)}" for system, value in skews.items()))
    if len(skews) == 2:
        between = skews["Bitrix24"] - skews["1C"]
        if abs(between) > SKEW_LIMIT:
            local_ok = [system for system, value in skews.items() if abs(value) <= SKEW_LIMIT]
            wrong = next((s for s in skews if s not in local_ok), None) if len(local_ok) == 1 else None
            return [Check(name, FAIL, t(m.CLOCK_SYSTEMS_DIFFER, seconds=f"{abs(between):.0f}",
                                        ahead="Bitrix24" if between > 0 else "1C",
                                        behind="1C" if between > 0 else "Bitrix24") + "; " + detail,
                          t(m.CLOCK_FIX_ONE, system=wrong) if wrong else t(m.CLOCK_FIX_BOTH))]
    off = {system: value for system, value in skews.items() if abs(value) > SKEW_LIMIT}
    if off:
        return [Check(name, WARN, t(m.CLOCK_LOCAL_DIFFERS, systems=", ".join(off)) + "; " + detail,
                      t(m.CLOCK_FIX_LOCAL))]
    return [Check(name, OK, detail)]
