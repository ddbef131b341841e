"""Writing orders and interests to 1C, then their 1C reference back onto the deal or lead.

Both paths are idempotent, so an operation left in doubt by a killed run is simply planned and
sent again: through OData the document gets the deterministic ``Ref_Key`` of its deal or lead
and is looked up before any POST; through the HTTP service the ``PUT`` is keyed by the Bitrix24
id. The Bitrix24 write-back (``UF_CRM_1C_ORDER_ID`` / ``UF_CRM_1C_LEAD_ID``) happens after the 1C
write, batched, and only then is the operation done — with its link — in the journal.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from b24sync import messages as m
from b24sync.documents.model import EDITABLE_STATUS, INTERESTS, LEAD_FIELD, ORDER_FIELD, ORDERS
from b24sync.i18n import t
from b24sync.sources.onec.client import OneCClient
from b24sync.sources.onec.errors import OneCError
from b24sync.sources.onec.service import ServiceClient

COUNTERPARTIES = "Catalog_Контрагенты"
WRITE_BACK = {"order": ("deal", ORDER_FIELD), "interest": ("lead", LEAD_FIELD)}


class DocumentRefused(OneCError):
    """1C's copy may not be rewritten any more (approved, posted, marked for deletion)."""

    def __init__(self, message: str, record: str) -> None:
        super().__init__(409, "conflict", message, operation=f"PATCH {ORDERS}", record=record)


def _order_rows(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for n, item in enumerate(payload["items"], start=1):
        row = {"LineNumber": n, "Номенклатура_Key": item["nomenclature"], "Количество": item["quantity"],
               "КоличествоУпаковок": item["quantity"], "Цена": item["price"],
               "ПроцентРучнойСкидки": item["discount_percent"], "СуммаРучнойСкидки": item["discount"],
               "Сумма": item["amount"], "ВариантОбеспечения": "Отгрузить", "КодСтроки": n}
        if item.get("vat_rate"):
            row["СтавкаНДС_Key"] = item["vat_rate"]
        rows.append(row)
    return rows


def _comment(kind: str, number: Any, title: str) -> str:
    return f"{kind} Битрикс24 №{number}" + (f": {title}" if title else "")


class DocumentWriter:
    """Writes one order or interest operation to 1C and says which ref it got and what 1C computed."""

    def __init__(self, onec: OneCClient, service: ServiceClient | None, write_via: Mapping[str, str]) -> None:
        self.onec, self.service = onec, service
        self.via_service = {name: write_via.get(name) == "http_service" and service is not None
                            for name in ("order", "lead")}

    def counterparty(self, payload: Mapping[str, Any], actual_refs: Mapping[str, str]) -> str:
        ref = str(payload["counterparty"])
        return actual_refs.get(ref, ref)

    # -- orders --

    def write_order(self, op_action: str, target_id: str, payload: Mapping[str, Any], precondition: Mapping[str, Any],
                    actual_refs: Mapping[str, str]) -> tuple[str, Decimal]:
        """(the order's ref, the total 1C computed)."""
        counterparty = self.counterparty(payload, actual_refs)
        if self.via_service["order"]:
            body: dict[str, Any] = {
                "counterparty": {"ref": counterparty}, "organization": {"ref": payload["organization"]},
                "currency": payload["currency_code"], "manager": {"ref": payload["manager"]},
                "title": payload["title"], "prices_include_vat": payload["prices_include_vat"],
                "amount": payload["amount"], "post": bool(payload.get("post")),
                "items": [{"nomenclature": {"ref": i["nomenclature"]}, "quantity": i["quantity"], "price": i["price"],
                           "discount_percent": i["discount_percent"], "amount": i["amount"],
                           **({"vat_percent": i["vat_percent"]} if i.get("vat_from_row") else {})}
                          for i in payload["items"]],
            }
            if op_action == "update" and precondition.get("DataVersion"):
                body["expected_data_version"] = precondition["DataVersion"]
            order = self.service.put_order(payload["deal_id"], body)["order"]  # type: ignore[union-attr]
            return order["ref"], Decimal(str(order["amount"]))
        ref = str(target_id)
        values: dict[str, Any] = {"Товары": _order_rows(payload)}
        if op_action == "create":
            existing = self.onec.get(ORDERS, ref, select=["Ref_Key", "СуммаДокумента"])
            if existing is not None:  # written by an earlier, interrupted run
                return ref, Decimal(str(existing["СуммаДокумента"]))
            partner = (self.onec.get(COUNTERPARTIES, counterparty, select=["Ref_Key", "Партнер_Key"]) or {})
            values.update({
                "Ref_Key": ref, "Date": datetime.now(UTC).replace(microsecond=0),
                "Контрагент_Key": counterparty, "Партнер_Key": partner.get("Партнер_Key") or "",
                "Организация_Key": payload["organization"], "Валюта_Key": payload["currency"],
                "Менеджер_Key": payload["manager"], "ЦенаВключаетНДС": payload["prices_include_vat"],
                "Статус": EDITABLE_STATUS, "ХозяйственнаяОперация": "РеализацияКлиенту",
                "Комментарий": _comment("Сделка", payload["deal_id"], payload["title"]),
            })
            if payload.get("agreement"):
                values["Соглашение_Key"] = payload["agreement"]
            record = self.onec.create(ORDERS, values, record=f"deal:{payload['deal_id']}")
        else:
            current = self.onec.get(ORDERS, ref, select=["Ref_Key", "Статус", "Согласован", "Posted", "DeletionMark"])
            if current is None or current.get("Posted") or current.get("DeletionMark") or current.get("Согласован") \
                    or (current.get("Статус") or EDITABLE_STATUS) != EDITABLE_STATUS:
                raise DocumentRefused(t(m.ORDER_REFUSED, ref=ref), f"deal:{payload['deal_id']}")
            values["ЦенаВключаетНДС"] = payload["prices_include_vat"]
            record = self.onec.update(ORDERS, ref, values, data_version=precondition.get("DataVersion"),
                                      record=f"deal:{payload['deal_id']}")
        if payload.get("post"):
            self.onec.post(ORDERS, ref)
        return ref, Decimal(str(record.get("СуммаДокумента") or 0))

    # -- interests --

    def write_interest(self, target_id: str, payload: Mapping[str, Any], actual_refs: Mapping[str, str]) -> str:
        counterparty = actual_refs.get(str(payload.get("counterparty")), payload.get("counterparty"))
        if self.via_service["lead"]:
            body: dict[str, Any] = {key: payload[key] for key in ("title", "status", "source", "company_title",
                                                                  "phones", "emails", "amount", "comment")}
            body["person"] = {k: v for k, v in payload["person"].items() if v}
            body["currency"] = payload["currency_code"]
            body["emails"] = [e for e in body["emails"] if "@" in e]
            if payload.get("manager"):
                body["manager"] = {"ref": payload["manager"]}
            if counterparty:
                body["counterparty"] = {"ref": counterparty}
            return self.service.put_lead(payload["lead_id"], body)["interest"]["ref"]  # type: ignore[union-attr]
        ref = str(target_id)
        if self.onec.get(INTERESTS, ref, select=["Ref_Key"]) is not None:
            return ref
        person = " ".join(v for v in (payload["person"].get("last_name"), payload["person"].get("first_name"),
                                      payload["person"].get("middle_name")) if v)
        lines = [payload["title"], f"Лид Битрикс24 №{payload['lead_id']}"]
        for label, value in (("Контактное лицо", person), ("Компания", payload.get("company_title")),
                             ("Телефоны", ", ".join(payload.get("phones") or [])),
                             ("E-mail", ", ".join(payload.get("emails") or [])), ("Источник", payload.get("source")),
                             ("Статус в Битрикс24", payload.get("status"))):
            if value:
                lines.append(f"{label}: {value}")
        values: dict[str, Any] = {
            "Ref_Key": ref, "Date": datetime.now(UTC).replace(microsecond=0),
            "Содержание": "\n".join(lines), "Комментарий": payload.get("comment") or "",
            "ПотенциальнаяСумма": payload.get("amount") or 0, "Валюта_Key": payload["currency"],
        }
        if payload.get("manager"):
            values["Ответственный_Key"] = payload["manager"]
        if payload.get("organization"):
            values["Организация_Key"] = payload["organization"]
        if counterparty:
            partner = self.onec.get(COUNTERPARTIES, str(counterparty), select=["Ref_Key", "Партнер_Key"]) or {}
            if partner.get("Партнер_Key"):
                values["Партнер_Key"] = partner["Партнер_Key"]
        return self.onec.create(INTERESTS, values, record=f"lead:{payload['lead_id']}")["Ref_Key"]
