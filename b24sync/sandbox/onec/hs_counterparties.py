"""``GET``/``PUT /counterparties/{b24_key}``: a counterparty with its partner and contact information.

UT refuses a counterparty without a partner, so the upsert creates one (or keeps the linked one,
or takes ``partner.ref``), in the same transaction as the counterparty and the key record. It
never links by INN on its own: an unlinked INN that already exists is a 409 with the candidates,
and b24sync — which reports ambiguity instead of guessing — decides.
"""

from __future__ import annotations

from typing import Any

from . import contactinfo as ci
from .hs_common import (
    EMAIL_RE,
    HsError,
    Link,
    Problems,
    check_lock,
    check_version,
    find_user,
    hs_state,
    kind_name,
    ref_or_none,
    transaction,
)
from .store import OneCStore
from .values import is_guid

__all__ = ["get_counterparty", "put_counterparty"]

KINDS = ("ЮрЛицо", "ИндивидуальныйПредприниматель", "ФизЛицо")
FIELDS = {"expected_data_version", "ref", "kind", "name", "full_name", "inn", "kpp", "comment", "manager", "partner",
          "contact_info"}
CI_FIELDS = {"phones", "emails", "legal_address", "actual_address"}
ADDRESS_FIELDS = {"presentation", "country", "postal_code", "region", "city", "street", "house", "building",
                  "apartment"}
KIND_OF = {"phones": "ТелефонКонтрагента", "emails": "EmailКонтрагента", "legal_address": "ЮрАдресКонтрагента",
           "actual_address": "ФактАдресКонтрагента"}
SET = "Catalog_Контрагенты"


def get_counterparty(store: OneCStore, key: str) -> tuple[int, dict[str, Any]]:
    with store.lock:
        record, link = _linked(store, key)
        if record is None or link is None:
            raise HsError(404, "not_found", f"Объект Битрикс24 {key} не связан ни с одним контрагентом 1С.", "b24_key")
        return 200, _result(store, key, record, created=False, changed=False, partner_created=False)


def put_counterparty(store: OneCStore, key: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    problems = _validate(key, body)
    with transaction(store) as created:
        record, link = _linked(store, key)
        state = hs_state(store)
        target = _target(store, key, body, record)
        check_version(target, body.get("expected_data_version"), f"Контрагент для {key}")
        if target is None:
            _refuse_duplicate(store, body)
        else:
            check_lock(store, target["Ref_Key"], target["Description"])
        manager = find_user(store, body["manager"], "manager") if "manager" in body else None
        partner_ref = _partner_ref(store, body, target, problems)
        problems.raise_if_any()

        partner_created = False
        if partner_ref is None:
            partner_ref = store.create("Catalog_Партнеры", _new_partner(body, manager))["Ref_Key"]
            created.append(("Catalog_Партнеры", partner_ref))
            partner_created = True
        elif manager is not None:
            partner = store.get("Catalog_Партнеры", partner_ref)
            if partner and partner["ОсновнойМенеджер_Key"] != manager:
                check_lock(store, partner_ref, partner["Description"])
                store.update("Catalog_Партнеры", partner_ref, {"ОсновнойМенеджер_Key": manager})

        values = _values(store, body, target, partner_ref)
        if target is None:
            record = store.create(SET, values)
            created.append((SET, record["Ref_Key"]))
            changed, is_new = True, True
        else:
            changed = partner_created or any(target.get(k) != v for k, v in values.items())
            record = store.update(SET, target["Ref_Key"], values) if changed else target
            is_new = False
        state.links[("counterparty", key)] = Link(record["Ref_Key"], partner_ref)
        return (201 if is_new else 200), _result(store, key, record, created=is_new, changed=changed,
                                                 partner_created=partner_created)


# -- validation ---------------------------------------------------------------------------------


def _validate(key: str, body: dict[str, Any]) -> Problems:
    p = Problems()
    p.unknown(body, FIELDS)
    kind = body.get("kind")
    if kind not in KINDS:
        p.add("kind", "required" if kind is None else "invalid_format",
              f"Вид контрагента должен быть одним из: {', '.join(KINDS)}")
    elif key.startswith("contact-") != (kind == "ФизЛицо"):
        p.add("kind", "key_kind_mismatch", f"{key}: для компании Битрикс24 — ЮрЛицо или ИП, для контакта — ФизЛицо")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        p.add("name", "required", "Не заполнено рабочее наименование контрагента")
    elif len(name) > 100:
        p.add("name", "invalid_format", "Наименование длиннее 100 символов")
    if kind in KINDS:
        p.inn("inn", body.get("inn"), kind)
    kpp = body.get("kpp")
    if kpp not in (None, ""):
        if kind != "ЮрЛицо":
            p.add("kpp", "kpp_not_allowed", "КПП указывается только для юридических лиц")
        elif not isinstance(kpp, str) or len(kpp) != 9 or not (kpp[:4].isdigit() and kpp[6:].isdigit()):
            p.add("kpp", "invalid_format", f"КПП {kpp}: нужно 9 символов: "
                  "код налогового органа (4), причина (2), номер (3)")
    for field in ("ref", "expected_data_version", "full_name", "comment"):
        if field in body and not isinstance(body[field], str):
            p.add(field, "invalid_format", f"«{field}» должно быть строкой")
    if "ref" in body and not is_guid(body["ref"]):
        p.add("ref", "invalid_format", f"ref {body['ref']!r} не является идентификатором 1С")
    partner = body.get("partner")
    if partner is not None:
        if not isinstance(partner, dict):
            p.add("partner", "invalid_format", "partner должен быть объектом")
        else:
            p.unknown(partner, {"ref", "name"}, "partner.")
    _validate_ci(p, body.get("contact_info"))
    return p


def _validate_ci(p: Problems, info: Any) -> None:
    if info is None:
        return
    if not isinstance(info, dict):
        p.add("contact_info", "invalid_format", "contact_info должен быть объектом")
        return
    p.unknown(info, CI_FIELDS, "contact_info.")
    for i, phone in enumerate(info.get("phones") or []):
        if not isinstance(phone, str) or ci.parse_phone(phone) is None:
            p.add(f"contact_info.phones[{i}]", "invalid_format", f"Не удалось разобрать номер телефона: {phone}")
    for i, email in enumerate(info.get("emails") or []):
        if not isinstance(email, str) or not EMAIL_RE.match(email):
            p.add(f"contact_info.emails[{i}]", "invalid_format", f"Некорректный адрес электронной почты: {email}")
    for name in ("legal_address", "actual_address"):
        address = info.get(name)
        if address is None:
            continue
        if not isinstance(address, dict) or not str(address.get("presentation") or "").strip():
            p.add(f"contact_info.{name}.presentation", "required", "Не заполнено представление адреса")
        else:
            p.unknown(address, ADDRESS_FIELDS, f"contact_info.{name}.")


# -- lookups -----------------------------------------------------------------------------------


def _linked(store: OneCStore, key: str) -> tuple[dict[str, Any] | None, Link | None]:
    link = hs_state(store).links.get(("counterparty", key))
    record = store.get(SET, link.ref) if link else None
    return record, (link if record is not None else None)


def _target(store: OneCStore, key: str, body: dict[str, Any], linked: dict[str, Any] | None) -> dict[str, Any] | None:
    """The counterparty this PUT writes: the linked one, or ``ref`` (checked not to be linked elsewhere)."""
    ref = str(body["ref"]).lower() if "ref" in body else None
    if ref is None:
        return linked
    if linked is not None and linked["Ref_Key"] != ref:
        raise HsError(409, "conflict", f"{key} уже связан с контрагентом «{linked['Description']}», а не с {ref}.",
                      "ref", [{"code": "key_linked", "field": "ref", "message": key, "ref": linked["Ref_Key"]}])
    record = store.get(SET, ref)
    if record is None:
        raise HsError(404, "not_found", f"Контрагент {ref} не найден в 1С.", "ref")
    other = hs_state(store).key_of("counterparty", ref)
    if other is not None and other != key:
        raise HsError(409, "conflict", f"Контрагент «{record['Description']}» уже связан с объектом Битрикс24 {other}.",
                      "ref", [{"code": "key_linked", "field": "ref", "message": other, "ref": ref}])
    return record


def _refuse_duplicate(store: OneCStore, body: dict[str, Any]) -> None:
    inn, kpp = body.get("inn") or "", body.get("kpp") or ""
    if not inn:
        return
    same = store.query(SET, lambda r: r["ИНН"] == inn and not r["DeletionMark"] and (not kpp or r["КПП"] == kpp))
    if same:
        shown = f"ИНН {inn}" + (f" и КПП {kpp}" if kpp else "")
        first = same[0]["Description"]
        raise HsError(409, "conflict", f"Контрагент с {shown} уже есть в 1С («{first}»). Укажите ref, чтобы связать "
                      "его с объектом Битрикс24, вместо создания дубля.", "inn",
                      [{"code": "inn_exists", "field": "inn", "message": f"{r['Description']}, ИНН {r['ИНН']}, "
                        f"КПП {r['КПП']}", "ref": r["Ref_Key"]} for r in same])


def _partner_ref(store: OneCStore, body: dict[str, Any], target: dict[str, Any] | None, p: Problems) -> str | None:
    wanted = (body.get("partner") or {}).get("ref")
    if wanted is not None:
        if is_guid(wanted) and store.get("Catalog_Партнеры", wanted) is not None:
            return str(wanted).lower()
        p.add("partner.ref", "not_found", f"Партнер {wanted} не найден в 1С")
        return None
    return ref_or_none(target["Партнер_Key"]) if target is not None else None


# -- values ------------------------------------------------------------------------------------


def _working_name(name: str) -> str:
    """«ООО «Ромашка»» → «Ромашка»: the partner is the business, its name has no legal form."""
    for form in ("ООО ", "АО ", "ПАО ", "ЗАО ", "ОАО "):
        if name.startswith(form):
            return name[len(form):].strip().strip("«»\"")
    return name


def _new_partner(body: dict[str, Any], manager: str | None) -> dict[str, Any]:
    name = (body.get("partner") or {}).get("name") or _working_name(body["name"])
    values: dict[str, Any] = {
        "Description": name,
        "НаименованиеПолное": body.get("full_name") or body["name"],
        "ЮрФизЛицо": "ЧастноеЛицо" if body["kind"] == "ФизЛицо" else "Компания",
        "Клиент": True,
    }
    if manager:
        values["ОсновнойМенеджер_Key"] = manager
    return values


def _values(store: OneCStore, body: dict[str, Any], target: dict[str, Any] | None, partner: str) -> dict[str, Any]:
    kind = body["kind"]
    values: dict[str, Any] = {
        "Description": body["name"],
        "ЮрФизЛицо": kind,
        "ЮридическоеФизическоеЛицо": "ЮридическоеЛицо" if kind == "ЮрЛицо" else "ФизическоеЛицо",
        "Партнер_Key": partner,
    }
    if "full_name" in body or target is None:
        values["НаименованиеПолное"] = body.get("full_name") or body["name"]
    if "inn" in body:
        values["ИНН"] = body["inn"] or ""
    if "kpp" in body or kind != "ЮрЛицо":
        values["КПП"] = (body.get("kpp") or "") if kind == "ЮрЛицо" else ""
    if "comment" in body:
        values["ДополнительнаяИнформация"] = body["comment"]
    if "contact_info" in body:
        rows = _contact_rows(store, body["contact_info"] or {}, target["КонтактнаяИнформация"] if target else [])
        if target is None or _rows_differ(rows, target["КонтактнаяИнформация"]):
            values["КонтактнаяИнформация"] = rows
    return values


def _contact_rows(store: OneCStore, info: dict[str, Any], current: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of the kinds present in ``info`` are replaced; rows of other kinds are kept as they are."""
    kinds = {store.predefined("Catalog_ВидыКонтактнойИнформации", KIND_OF[k]): k for k in info}
    rows = [{k: v for k, v in r.items() if k != "LineNumber"} for r in current if r["Вид_Key"] not in kinds]
    for name in ("legal_address", "actual_address"):
        address = info.get(name)
        if address:
            kind = store.predefined("Catalog_ВидыКонтактнойИнформации", KIND_OF[name])
            parts = {k: v for k, v in address.items() if k in ADDRESS_FIELDS}
            rows.append(ci.address_row(kind, ci.address_value(**parts)))
    phone_kind = store.predefined("Catalog_ВидыКонтактнойИнформации", KIND_OF["phones"])
    for phone in info.get("phones") or []:
        rows.append(ci.phone_row(phone_kind, ci.parse_phone(phone)))  # type: ignore[arg-type]  # validated
    email_kind = store.predefined("Catalog_ВидыКонтактнойИнформации", KIND_OF["emails"])
    for email in info.get("emails") or []:
        rows.append(ci.email_row(email_kind, email.strip().lower()))
    return rows


def _rows_differ(new: list[dict[str, Any]], old: list[dict[str, Any]]) -> bool:
    strip = [{k: v for k, v in r.items() if k != "LineNumber"} for r in old]
    return new != strip


# -- answer ------------------------------------------------------------------------------------


def contact_info_out(store: OneCStore, rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"phones": [], "emails": [], "legal_address": None, "actual_address": None}
    for row in rows:
        item = {"presentation": row["Представление"], "kind": kind_name(store, row["Вид_Key"])}
        if row["Тип"] == "Телефон":
            out["phones"].append({**item, "e164": row["НомерТелефона"]})
        elif row["Тип"] == "АдресЭлектроннойПочты":
            out["emails"].append(item)
        elif row["Тип"] == "Адрес":
            slot = "legal_address" if item["kind"] == "ЮрАдресКонтрагента" else "actual_address"
            out[slot] = out[slot] or item
    return out


def _result(store: OneCStore, key: str, record: dict[str, Any], *, created: bool, changed: bool,
            partner_created: bool) -> dict[str, Any]:
    partner = store.get("Catalog_Партнеры", record["Партнер_Key"]) or {}
    return {
        "b24_key": key,
        "created": created,
        "changed": changed,
        "counterparty": {
            "ref": record["Ref_Key"],
            "data_version": record["DataVersion"],
            "name": record["Description"],
            "full_name": record["НаименованиеПолное"],
            "kind": record["ЮрФизЛицо"],
            "inn": record["ИНН"] or None,
            "kpp": record["КПП"] or None,
            "deletion_mark": record["DeletionMark"],
            "contact_info": contact_info_out(store, record["КонтактнаяИнформация"]),
        },
        "partner": {
            "ref": partner.get("Ref_Key", record["Партнер_Key"]),
            "data_version": partner.get("DataVersion", ""),
            "name": partner.get("Description", ""),
            "manager_ref": ref_or_none(partner.get("ОсновнойМенеджер_Key", "")),
            "created": partner_created,
        },
    }
