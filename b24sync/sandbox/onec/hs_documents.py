"""``/orders/{deal_id}`` and ``/leads/{lead_id}``: documents created once per Bitrix24 id.

An order is written with the store's business rules on (``load_mode=False``), so UT's own
recalculation (row sums, VAT, ``КодСтроки``, ``СуммаДокумента``) produces the totals, as the
document module does on a real base; the handler computes the same figures first only to refuse
a deal whose amount does not match its rows. Posting runs after the write and its failure is a
warning, so a retry never creates a second order and only retries the posting.
"""

from __future__ import annotations

from typing import Any

from .errors import ODataError
from .hs_common import (
    DATE_RE,
    EMAIL_RE,
    HsError,
    Link,
    Problems,
    check_lock,
    check_version,
    currency,
    find_user,
    hs_state,
    ref_or_none,
    request_hash,
    single_organization,
    transaction,
)
from .store import OneCStore
from .values import is_guid

__all__ = ["get_lead", "get_order", "put_lead", "put_order"]

ORDER = "Document_ЗаказКлиента"
INTEREST = "Document_CRM_Интерес"
ORDER_FIELDS = {"expected_data_version", "counterparty", "organization", "currency", "manager", "date",
                "desired_shipment_date", "title", "comment", "prices_include_vat", "items", "amount", "post"}
ITEM_FIELDS = {"nomenclature", "quantity", "price", "vat_percent", "discount_percent", "amount"}
VAT_PERCENTS = (0, 5, 7, 10, 20, 22)
LEAD_FIELDS = {"expected_data_version", "title", "date", "status", "source", "person", "company_title", "phones",
               "emails", "counterparty", "manager", "amount", "currency", "comment"}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _money(value: float) -> str:
    return f"{value:,.2f}".replace(",", " ").replace(".", ",")


# -- orders ------------------------------------------------------------------------------------


def get_order(store: OneCStore, deal_id: str) -> tuple[int, dict[str, Any]]:
    with store.lock:
        record = _linked(store, "order", deal_id, ORDER)
        if record is None:
            raise HsError(404, "not_found", f"Заказ клиента по сделке Битрикс24 {deal_id} в 1С не найден.", "deal_id")
        return 200, _order_result(store, deal_id, record, created=False, changed=False, warnings=[])


def put_order(store: OneCStore, deal_id: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    _validate_order(body)
    digest = request_hash(body)
    with transaction(store) as created:
        existing = _linked(store, "order", deal_id, ORDER)
        check_version(existing, body.get("expected_data_version"), f"Заказ клиента по сделке {deal_id}")
        link = hs_state(store).links.get(("order", deal_id))
        if existing is not None and link is not None and link.request_hash == digest:
            warnings = _post(store, existing) if body.get("post") and not existing["Posted"] else []
            record = store.get(ORDER, existing["Ref_Key"]) or existing
            changed = record["DataVersion"] != existing["DataVersion"]  # the retried posting went through
            return 200, _order_result(store, deal_id, record, created=False, changed=changed, warnings=warnings)
        if existing is not None:
            _refuse_rewrite(existing, deal_id)
            check_lock(store, existing["Ref_Key"], f"Заказ клиента {existing['Number']}")
        values = _order_values(store, deal_id, body)
        if existing is None:
            record = store.create(ORDER, values)
            created.append((ORDER, record["Ref_Key"]))
        else:
            record = store.update(ORDER, existing["Ref_Key"], values)
        hs_state(store).links[("order", deal_id)] = Link(record["Ref_Key"], values["Партнер_Key"], digest)
    warnings = _post(store, record) if body.get("post") else []
    record = store.get(ORDER, record["Ref_Key"]) or record
    return (201 if existing is None else 200), _order_result(store, deal_id, record, created=existing is None,
                                                            changed=True, warnings=warnings)


def _validate_order(body: dict[str, Any]) -> None:
    p = Problems()
    p.unknown(body, ORDER_FIELDS)
    cp = body.get("counterparty")
    if not isinstance(cp, dict) or len(cp) != 1 or not ({"ref", "b24_key"} & cp.keys()):
        p.add("counterparty", "required", "Укажите контрагента: ref или b24_key")
    for field in ("date", "desired_shipment_date"):
        if field in body and not (isinstance(body[field], str) and DATE_RE.match(body[field])):
            p.add(field, "invalid_format", f"{field}: дата в формате ГГГГ-ММ-ДДTчч:мм:сс без часового пояса")
    for field in ("prices_include_vat", "post"):
        if field in body and not isinstance(body[field], bool):
            p.add(field, "invalid_format", f"{field}: true или false")
    if "amount" in body and not (_number(body["amount"]) and body["amount"] >= 0):
        p.add("amount", "invalid_format", "Сумма должна быть неотрицательным числом")
    items = body.get("items")
    if not isinstance(items, list) or not items:
        p.add("items", "required", "В заказе должна быть хотя бы одна строка товаров")
        items = []
    for i, item in enumerate(items):
        at = f"items[{i}]"
        if not isinstance(item, dict):
            p.add(at, "invalid_format", f"Строка {i + 1}: ожидается объект")
            continue
        p.unknown(item, ITEM_FIELDS, f"{at}.")
        nom = item.get("nomenclature")
        if not isinstance(nom, dict) or not ({"ref", "code", "article", "name"} & nom.keys()):
            p.add(f"{at}.nomenclature", "required", f"Строка {i + 1}: не указана номенклатура")
        if not (_number(item.get("quantity")) and item["quantity"] > 0):
            p.add(f"{at}.quantity", "invalid_format", f"Строка {i + 1}: количество должно быть больше нуля")
        if not (_number(item.get("price")) and item["price"] >= 0):
            p.add(f"{at}.price", "invalid_format", f"Строка {i + 1}: цена должна быть неотрицательным числом")
        if "vat_percent" in item and item["vat_percent"] is not None and item["vat_percent"] not in VAT_PERCENTS:
            p.add(f"{at}.vat_percent", "invalid_format", f"Строка {i + 1}: ставка НДС {item['vat_percent']}% не "
                  "поддерживается")
        if "discount_percent" in item and not (_number(item["discount_percent"]) and 0 <= item["discount_percent"]
                                               <= 100):
            p.add(f"{at}.discount_percent", "invalid_format", f"Строка {i + 1}: скидка от 0 до 100 %")
    p.raise_if_any()


def _refuse_rewrite(record: dict[str, Any], deal_id: str) -> None:
    """What accounting has approved, posted or discarded is not rewritten from the CRM."""
    reason = None
    if record["Posted"]:
        reason, code = "уже проведён в 1С", "order_posted"
    elif record["Статус"] not in ("", "НеСогласован") or record["Согласован"]:
        reason, code = "уже согласован в 1С", "order_approved"
    elif record["DeletionMark"]:
        reason, code = "помечен на удаление в 1С", "deletion_marked"
    if reason:
        date = record["Date"][:10].split("-")
        raise HsError(409, "conflict", f"Заказ клиента {record['Number']} от {'.'.join(reversed(date))} {reason}; "
                      f"изменения сделки {deal_id} не применены.", None,
                      [{"code": code, "field": None, "message": record["Number"], "ref": record["Ref_Key"]}])


def _counterparty(store: OneCStore, spec: dict[str, Any], field: str = "counterparty") -> dict[str, Any]:
    if "b24_key" in spec:
        link = hs_state(store).links.get(("counterparty", str(spec["b24_key"])))
        record = store.get("Catalog_Контрагенты", link.ref) if link else None
        if record is None:
            key = spec["b24_key"]
            raise HsError(404, "not_found", f"Контрагент для {key} не найден в 1С. Сначала выгрузите его "
                          f"(PUT /counterparties/{key}).", f"{field}.b24_key")
    else:
        record = store.get("Catalog_Контрагенты", spec["ref"]) if is_guid(spec["ref"]) else None
        if record is None:
            raise HsError(404, "not_found", f"Контрагент {spec['ref']} не найден в 1С.", f"{field}.ref")
    if record["DeletionMark"]:
        raise HsError(422, "validation_failed", f"Контрагент «{record['Description']}» помечен на удаление.", field,
                      [{"code": "deletion_marked", "field": field, "message": record["Description"],
                        "ref": record["Ref_Key"]}])
    return record


def _nomenclature(store: OneCStore, spec: dict[str, Any], line: int, p: Problems) -> dict[str, Any] | None:
    """By ref, then code, then article, then exact name: the first identifier that finds exactly one item."""
    at = f"items[{line - 1}].nomenclature"
    tests = (("ref", lambda r, v: r["Ref_Key"] == str(v).lower()), ("code", lambda r, v: r["Code"] == v),
             ("article", lambda r, v: r["Артикул"] == v), ("name", lambda r, v: r["Description"] == v))
    for key, test in tests:
        if key not in spec:
            continue
        found = store.query("Catalog_Номенклатура",
                            lambda r, t=test, v=spec[key]: not r["DeletionMark"] and not r["IsFolder"] and t(r, v))
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            p.add(at, "nomenclature_ambiguous", f"Строка {line}: номенклатура «{spec[key]}» найдена {len(found)} раз")
            return None
    shown = spec.get("name") or spec.get("article") or spec.get("code") or spec.get("ref")
    p.add(at, "nomenclature_not_found", f"Строка {line}: номенклатура «{shown}» не найдена.")
    return None


def _vat(store: OneCStore, percent: Any, nomenclature: dict[str, Any], at: str, p: Problems) -> dict[str, Any]:
    """The row's VAT as the schema wants it: ``СтавкаНДС_Key`` (11.5) or the ``СтавкаНДС`` enum (11.4)."""
    goods = store.schema.entity_set(ORDER).table("Товары")
    as_enum = goods is not None and goods.column("СтавкаНДС") is not None
    if percent is ...:
        ref = nomenclature["СтавкаНДС_Key"]
        return {"СтавкаНДС": _vat_member(store, ref)} if as_enum else {"СтавкаНДС_Key": ref}
    if as_enum:
        member = "БезНДС" if percent is None else f"НДС{int(percent)}"
        if member not in store.schema.enums["СтавкиНДС"].members:
            p.add(at, "invalid_format", f"{at}: ставка {percent}% отсутствует в перечислении СтавкиНДС")
        return {"СтавкаНДС": member}
    found = store.query("Catalog_СтавкиНДС", lambda r: not r["DeletionMark"] and (
        r["ПеречислениеСтавкаНДС"] == "БезНДС" if percent is None
        else r["Ставка"] == percent and r["ПеречислениеСтавкаНДС"] != "БезНДС"))
    if not found:
        p.add(at, "invalid_format", f"{at}: ставка НДС {percent}% не найдена в справочнике «Ставки НДС»")
        return {}
    return {"СтавкаНДС_Key": found[0]["Ref_Key"]}


def _vat_member(store: OneCStore, ref: str) -> str:
    item = store.get("Catalog_СтавкиНДС", ref)
    return item["ПеречислениеСтавкаНДС"] if item else ""


def _order_values(store: OneCStore, deal_id: str, body: dict[str, Any]) -> dict[str, Any]:
    counterparty = _counterparty(store, body["counterparty"])
    values: dict[str, Any] = {
        "Контрагент_Key": counterparty["Ref_Key"],
        "Партнер_Key": counterparty["Партнер_Key"],
        "Организация_Key": single_organization(store, body.get("organization")),
        "Валюта_Key": currency(store, body.get("currency")),
        "ЦенаВключаетНДС": body.get("prices_include_vat", True),
        "ХозяйственнаяОперация": "РеализацияКлиенту",
        "Статус": "НеСогласован",
        "Комментарий": f"Сделка Битрикс24 №{deal_id}" + (f": {body['title']}" if body.get("title") else "")
        + (f"\n{body['comment']}" if body.get("comment") else ""),
    }
    if "manager" in body:
        values["Менеджер_Key"] = find_user(store, body["manager"], "manager")
    if "date" in body:
        values["Date"] = body["date"]
    if "desired_shipment_date" in body:
        values["ЖелаемаяДатаОтгрузки"] = body["desired_shipment_date"]
    p = Problems()
    rows, total = [], 0.0
    for i, item in enumerate(body["items"]):
        nom = _nomenclature(store, item["nomenclature"], i + 1, p)
        if nom is None:
            continue
        gross = round(item["quantity"] * item["price"], 2)
        discount = round(gross * item.get("discount_percent", 0) / 100, 2)
        row = {"Номенклатура_Key": nom["Ref_Key"], "Количество": item["quantity"],
               "КоличествоУпаковок": item["quantity"], "Цена": item["price"], "СуммаРучнойСкидки": discount,
               "ПроцентРучнойСкидки": item.get("discount_percent", 0), "ВариантОбеспечения": "Отгрузить",
               **_vat(store, item.get("vat_percent", ...), nom, f"items[{i}].vat_percent", p)}
        amount = round(gross - discount, 2)
        if "amount" in item and abs(item["amount"] - amount) > 0.005:
            p.add(f"items[{i}].amount", "amount_mismatch", f"Строка {i + 1}: сумма {_money(item['amount'])} не равна "
                  f"количеству × цене за вычетом скидки ({_money(amount)})")
        rate = store.vat_rate(row.get("СтавкаНДС_Key") or row.get("СтавкаНДС") or "")
        total += amount if values["ЦенаВключаетНДС"] else round(amount + round(amount * rate / 100, 2), 2)
        rows.append(row)
    total = round(total, 2)
    if "amount" in body and abs(body["amount"] - total) > 0.005:
        p.add("amount", "amount_mismatch", f"Сумма сделки {_money(body['amount'])} не совпадает с суммой строк "
              f"{_money(total)}.")
    p.raise_if_any()
    values["Товары"] = rows
    return values


def _post(store: OneCStore, record: dict[str, Any]) -> list[dict[str, Any]]:
    try:
        store.post(ORDER, record["Ref_Key"])
    except ODataError as exc:
        return [{"code": "posting_failed", "field": "post", "message": exc.message, "ref": record["Ref_Key"]}]
    return []


def _order_result(store: OneCStore, deal_id: str, record: dict[str, Any], *, created: bool, changed: bool,
                  warnings: list[dict[str, Any]]) -> dict[str, Any]:
    names = {r["Ref_Key"]: r["Description"] for r in store.records("Catalog_Номенклатура")}
    currency_item = store.get("Catalog_Валюты", record["Валюта_Key"]) or {}
    items = [{
        "line": int(row["LineNumber"]),
        "nomenclature_ref": row["Номенклатура_Key"],
        "nomenclature_name": names.get(row["Номенклатура_Key"], ""),
        "quantity": row["Количество"],
        "price": row["Цена"],
        "vat_percent": _percent(store, row),
        "amount": row["Сумма"],
        "vat_amount": row["СуммаНДС"],
    } for row in record["Товары"]]
    return {
        "deal_id": deal_id,
        "created": created,
        "changed": changed,
        "warnings": warnings,
        "order": {
            "ref": record["Ref_Key"], "number": record["Number"], "date": record["Date"],
            "data_version": record["DataVersion"], "posted": record["Posted"],
            "deletion_mark": record["DeletionMark"], "status": record["Статус"],
            "counterparty_ref": record["Контрагент_Key"], "partner_ref": record["Партнер_Key"],
            "organization_ref": record["Организация_Key"], "currency": currency_item.get("Code", ""),
            "manager_ref": ref_or_none(record["Менеджер_Key"]), "amount": record["СуммаДокумента"],
            "vat_amount": round(sum(float(r["СуммаНДС"]) for r in record["Товары"]), 2), "items": items,
        },
    }


def _percent(store: OneCStore, row: dict[str, Any]) -> float | None:
    value = row.get("СтавкаНДС_Key") or row.get("СтавкаНДС") or ""
    member = _vat_member(store, value) if is_guid(value) else value
    return None if member == "БезНДС" else store.vat_rate(value)


# -- leads -------------------------------------------------------------------------------------


def get_lead(store: OneCStore, lead_id: str) -> tuple[int, dict[str, Any]]:
    with store.lock:
        record = _linked(store, "lead", lead_id, INTEREST)
        if record is None:
            raise HsError(404, "not_found", f"Интерес по лиду Битрикс24 {lead_id} в 1С не найден.", "lead_id")
        return 200, _lead_result(lead_id, record, created=False, changed=False)


def put_lead(store: OneCStore, lead_id: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    _validate_lead(body)
    digest = request_hash(body)
    with transaction(store) as created:
        existing = _linked(store, "lead", lead_id, INTEREST)
        check_version(existing, body.get("expected_data_version"), f"Интерес по лиду {lead_id}")
        link = hs_state(store).links.get(("lead", lead_id))
        if existing is not None and link is not None and link.request_hash == digest:
            return 200, _lead_result(lead_id, existing, created=False, changed=False)
        if existing is not None:
            if ref_or_none(existing["Сделка_Key"]) or existing["DeletionMark"]:
                raise HsError(409, "conflict", f"Интерес {existing['Number']} закрыт в 1С; изменения лида {lead_id} не "
                              "применены.", None, [{"code": "interest_closed", "field": None,
                                                    "message": existing["Number"], "ref": existing["Ref_Key"]}])
            check_lock(store, existing["Ref_Key"], f"Интерес {existing['Number']}")
        values = _lead_values(store, lead_id, body)
        if existing is None:
            record = store.create(INTEREST, values)
            created.append((INTEREST, record["Ref_Key"]))
        else:
            record = store.update(INTEREST, existing["Ref_Key"], values)
        hs_state(store).links[("lead", lead_id)] = Link(record["Ref_Key"], values.get("Партнер_Key", ""), digest)
        return (201 if existing is None else 200), _lead_result(lead_id, record, created=existing is None,
                                                               changed=True)


def _validate_lead(body: dict[str, Any]) -> None:
    p = Problems()
    p.unknown(body, LEAD_FIELDS)
    if not isinstance(body.get("title"), str) or not body["title"].strip():
        p.add("title", "required", "Не заполнено название лида")
    person = body.get("person")
    if person is not None:
        if isinstance(person, dict):
            p.unknown(person, {"last_name", "first_name", "middle_name"}, "person.")
        else:
            p.add("person", "invalid_format", "person должен быть объектом")
    for i, email in enumerate(body.get("emails") or []):
        if not isinstance(email, str) or not EMAIL_RE.match(email):
            p.add(f"emails[{i}]", "invalid_format", f"Некорректный адрес электронной почты: {email}")
    if "amount" in body and not (_number(body["amount"]) and body["amount"] >= 0):
        p.add("amount", "invalid_format", "Сумма должна быть неотрицательным числом")
    if "date" in body and not (isinstance(body["date"], str) and DATE_RE.match(body["date"])):
        p.add("date", "invalid_format", "date: дата в формате ГГГГ-ММ-ДДTчч:мм:сс без часового пояса")
    cp = body.get("counterparty")
    if cp is not None and (not isinstance(cp, dict) or len(cp) != 1 or not ({"ref", "b24_key"} & cp.keys())):
        p.add("counterparty", "invalid_format", "Контрагент задаётся одним свойством: ref или b24_key")
    p.raise_if_any()


def _lead_values(store: OneCStore, lead_id: str, body: dict[str, Any]) -> dict[str, Any]:
    person = body.get("person") or {}
    fio = " ".join(x for x in (person.get("last_name"), person.get("first_name"), person.get("middle_name")) if x)
    lines = [body["title"].strip(), f"Лид Битрикс24 №{lead_id}"]
    for label, value in (("Контактное лицо", fio), ("Компания", body.get("company_title")),
                         ("Телефоны", ", ".join(body.get("phones") or [])), ("E-mail", ", ".join(body.get("emails")
                                                                                                 or [])),
                         ("Источник", body.get("source")), ("Статус в Битрикс24", body.get("status"))):
        if value:
            lines.append(f"{label}: {value}")
    values: dict[str, Any] = {
        "Содержание": "\n".join(lines),
        "Комментарий": body.get("comment", ""),
        "ПотенциальнаяСумма": body.get("amount", 0),
        "Валюта_Key": currency(store, body.get("currency")),
    }
    orgs = store.query("Catalog_Организации", lambda r: not r["DeletionMark"])
    if len(orgs) == 1:
        values["Организация_Key"] = orgs[0]["Ref_Key"]
    if "date" in body:
        values["Date"] = body["date"]
    if "manager" in body:
        values["Ответственный_Key"] = find_user(store, body["manager"], "manager")
    if body.get("counterparty"):
        values["Партнер_Key"] = _counterparty(store, body["counterparty"])["Партнер_Key"]
    return values


def _lead_result(lead_id: str, record: dict[str, Any], *, created: bool, changed: bool) -> dict[str, Any]:
    return {
        "lead_id": lead_id,
        "created": created,
        "changed": changed,
        "interest": {
            "ref": record["Ref_Key"], "number": record["Number"], "date": record["Date"],
            "data_version": record["DataVersion"], "deletion_mark": record["DeletionMark"],
            "title": record["Содержание"].split("\n", 1)[0], "partner_ref": ref_or_none(record["Партнер_Key"]),
            "manager_ref": ref_or_none(record["Ответственный_Key"]), "amount": record["ПотенциальнаяСумма"],
            "closed": bool(ref_or_none(record["Сделка_Key"])) or record["DeletionMark"],
        },
    }


def _linked(store: OneCStore, kind: str, key: str, entity_set: str) -> dict[str, Any] | None:
    link = hs_state(store).links.get((kind, key))
    return store.get(entity_set, link.ref) if link else None
