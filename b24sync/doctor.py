"""``b24sync doctor``: can this configuration work, and what is missing?

Each check is independent and reports ok / warning / failed with a detail a 1C administrator can
act on; a failing remote does not stop the other checks. Secrets are reported by where they come
from, never by value. ``fix=True`` creates the Bitrix24 user fields b24sync needs (only those).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from b24sync import messages as m
from b24sync.config import Config
from b24sync.errors import B24SyncError
from b24sync.i18n import t
from b24sync.state import State

OK, WARN, FAIL, FIXED = "ok", "warning", "failed", "fixed"

REQUIRED_USERFIELDS: tuple[tuple[str, str, str], ...] = (
    ("company", "UF_CRM_1C_ID", "Ссылка 1С (b24sync)"),
    ("contact", "UF_CRM_1C_ID", "Ссылка 1С (b24sync)"),
    ("deal", "UF_CRM_1C_ORDER_ID", "Заказ клиента 1С (b24sync)"),
    ("lead", "UF_CRM_1C_LEAD_ID", "Интерес 1С (b24sync)"),
)
REQUIRED_ONEC_SETS = ("Catalog_Контрагенты", "Catalog_Партнеры", "Catalog_ВидыКонтактнойИнформации",
                      "Catalog_Пользователи")


@dataclass
class Check:
    name: str
    status: str
    detail: str


def _guard(checks: list[Check], name: str, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except B24SyncError as exc:
        checks.append(Check(name, FAIL, str(exc)))
        return None


def run_doctor(config: Config, *, fix: bool = False) -> list[Check]:
    """Run every check; with ``fix``, create missing Bitrix24 user fields."""
    checks = [Check(t(m.CHECK_CONFIG), OK, t(m.CHECK_CONFIG_DETAIL, instance=config.instance,
                                             state=config.state_path))]
    if _guard(checks, t(m.CHECK_STATE), lambda: State(config.state_path)) is not None:
        checks.append(Check(t(m.CHECK_STATE), OK, str(config.state_path)))
    checks += _bitrix24_checks(config, fix)
    checks += _onec_checks(config)
    return checks


def _bitrix24_checks(config: Config, fix: bool) -> list[Check]:
    from b24sync.sources.bitrix24.client import Bitrix24Client
    from b24sync.sources.bitrix24.reference import userfields

    checks: list[Check] = []
    webhook = _guard(checks, t(m.CHECK_B24_SECRET), config.require_webhook)
    if webhook is None:
        return checks
    checks.append(Check(t(m.CHECK_B24_SECRET), OK, t(m.CHECK_SECRET_FROM, source=webhook.source)))
    client = Bitrix24Client.from_config(config)
    profile = _guard(checks, t(m.CHECK_B24_REACH), lambda: client.call("profile"))
    if profile is None:
        return checks
    admin = profile.get("ADMIN") in (True, "Y", "true", 1)
    user = " ".join(filter(None, (profile.get("NAME"), profile.get("LAST_NAME")))) or str(profile.get("ID"))
    checks.append(Check(t(m.CHECK_B24_REACH), OK if admin else WARN,
                        t(m.CHECK_B24_REACH_DETAIL, portal=client.portal, user=user, admin=admin)
                        + ("" if admin else "; " + t(m.CHECK_B24_ADMIN))))
    for entity_name, field, label in REQUIRED_USERFIELDS:
        name = t(m.CHECK_B24_FIELD, entity=entity_name, field=field)
        existing = _guard(checks, name, lambda e=entity_name: {f["FIELD_NAME"] for f in userfields(client, e)})
        if existing is None:
            continue
        if field in existing:
            checks.append(Check(name, OK, t(m.CHECK_FIELD_PRESENT)))
        elif fix:
            created = _guard(checks, name, lambda e=entity_name, f=field, lb=label: client.call(
                f"crm.{e}.userfield.add",
                {"fields": {"FIELD_NAME": f.removeprefix("UF_CRM_"), "USER_TYPE_ID": "string", "XML_ID": f,
                            "EDIT_FORM_LABEL": lb, "LIST_COLUMN_LABEL": lb, "LIST_FILTER_LABEL": lb,
                            "SHOW_FILTER": "Y"}}))
            if created is not None:
                checks.append(Check(name, FIXED, t(m.CHECK_FIELD_CREATED)))
        else:
            checks.append(Check(name, FAIL, t(m.CHECK_FIELD_MISSING)))
    return checks


def _onec_checks(config: Config) -> list[Check]:
    from b24sync.sources.onec.client import OneCClient
    from b24sync.sources.onec.service import ServiceClient

    checks: list[Check] = []
    onec = config.onec
    if not onec.odata_url:
        return [Check(t(m.CHECK_ONEC_REACH), WARN, t(m.CHECK_ONEC_NOT_CONFIGURED))]
    password = _guard(checks, t(m.CHECK_ONEC_SECRET), config.require_onec_password)
    if password is None:
        return checks
    checks.append(Check(t(m.CHECK_ONEC_SECRET), OK, t(m.CHECK_SECRET_FROM, source=password.source)))
    client = OneCClient(onec.odata_url, onec.user, password, server_tz=onec.tzinfo())
    metadata = _guard(checks, t(m.CHECK_ONEC_REACH), client.metadata)
    if metadata is None:
        return checks
    missing = [name for name in REQUIRED_ONEC_SETS if name not in metadata]
    count = "?" if "Catalog_Контрагенты" in missing else _guard(
        checks, t(m.CHECK_ONEC_REACH), lambda: client.count("Catalog_Контрагенты"))
    checks.append(Check(t(m.CHECK_ONEC_REACH), OK, t(m.CHECK_ONEC_REACH_DETAIL, url=onec.odata_url, user=onec.user,
                                                      count=count)))
    checks += [Check(t(m.CHECK_ONEC_SET, name=name), FAIL, t(m.CHECK_ONEC_SET_MISSING)) for name in missing]
    if onec.http_service_url:
        needed = "http_service" in onec.write_via.values()
        service = ServiceClient(onec.http_service_url, onec.user, password)
        try:
            info = service.version()
            configuration = info.get("configuration", {})
            checks.append(Check(t(m.CHECK_ONEC_HS), OK, t(m.CHECK_ONEC_HS_DETAIL, configuration=" ".join(
                filter(None, (configuration.get("synonym") or configuration.get("name"),
                              configuration.get("version")))), version=info.get("contract_version"))))
        except B24SyncError as exc:
            checks.append(Check(t(m.CHECK_ONEC_HS), FAIL if needed else WARN,
                                str(exc) if needed else t(m.CHECK_ONEC_HS_ABSENT, reason=exc)))
    return checks
