"""Shared pieces of the emulated ``b24sync/v1`` HTTP service: errors, the key register, lookups.

The real service is BSL in a configuration extension (``onec/`` in the repository); this is its
Python twin over the emulator's store. What a 1C transaction gives the real handler — all or
nothing, a managed lock — the emulator gets from holding ``store.lock`` for the whole request and
validating everything before the first write (see :func:`transaction`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from stdnum.ru import inn as stdnum_inn

from .errors import ODataError
from .store import OneCStore
from .ut115 import CI_KIND_SET
from .values import EMPTY_GUID, is_guid

__all__ = [
    "HsError",
    "HsState",
    "Link",
    "Problems",
    "find_user",
    "hs_state",
    "lock_object",
    "request_hash",
    "transaction",
]

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
KEY_RE = re.compile(r"^(company|contact)-[1-9][0-9]{0,17}$")
ID_RE = re.compile(r"^[1-9][0-9]{0,17}$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")
CURRENCY_CODES = {"RUB": "643", "RUR": "643", "USD": "840", "EUR": "978", "CNY": "156", "KZT": "398", "BYN": "933"}


class HsError(Exception):
    """A structured error answer: ``{"error": {"code", "message", "field", "details"}}``."""

    def __init__(
        self, status: int, code: str, message: str, field: str | None = None, details: list[dict] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.details = details or []

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "field": self.field, "details": self.details}}


class Problems:
    """Collects every validation problem of a request, so one 422 lists them all."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, field: str | None, code: str, message: str, ref: str | None = None) -> None:
        item: dict[str, Any] = {"code": code, "field": field, "message": message}
        if ref:
            item["ref"] = ref
        self.items.append(item)

    def raise_if_any(self) -> None:
        if self.items:
            first = self.items[0]
            raise HsError(422, "validation_failed", first["message"], first["field"], self.items)

    def unknown(self, body: dict[str, Any], allowed: set[str], prefix: str = "") -> None:
        for key in body:
            if key not in allowed:
                self.add(f"{prefix}{key}", "unknown_property", f"Неизвестное свойство «{prefix}{key}»")

    def inn(self, field: str, inn: Any, kind: str) -> None:
        """INN length by ``ЮрФизЛицо`` and its check digits (1C's form only warns; a sync must not)."""
        if inn is None or inn == "":
            if kind == "ЮрЛицо":
                self.add(field, "required", "Для юридического лица ИНН обязателен")
            return
        if not isinstance(inn, str) or not inn.isdigit():
            self.add(field, "invalid_format", f"ИНН {inn} должен состоять из цифр")
            return
        need = 10 if kind == "ЮрЛицо" else 12
        if len(inn) != need:
            who = "юридического лица" if need == 10 else "физического лица и ИП"
            self.add(field, "inn_length", f"ИНН {inn}: у {who} должно быть {need} цифр")
        elif not stdnum_inn.is_valid(inn):
            self.add(field, "inn_checksum", f"ИНН {inn}: неверное контрольное число")


@dataclass
class Link:
    """One record of the register ``b24sync_ВнешниеКлючи``: key → object (+ partner, request hash)."""

    ref: str
    partner: str = ""
    request_hash: str = ""


@dataclass
class HsState:
    """What the extension adds to the base: the key register, and the locks 1C users hold."""

    links: dict[tuple[str, str], Link] = field(default_factory=dict)
    locks: dict[str, str] = field(default_factory=dict)  # Ref_Key -> who holds it (a 1C user's name)

    def key_of(self, kind: str, ref: str) -> str | None:
        return next((key for (k, key), link in self.links.items() if k == kind and link.ref == ref), None)


_STATES: weakref.WeakKeyDictionary[OneCStore, HsState] = weakref.WeakKeyDictionary()


def hs_state(store: OneCStore) -> HsState:
    """The extension's state of ``store`` (one per base, shared by every app serving it)."""
    with store.lock:
        state = _STATES.get(store)
        if state is None:
            state = _STATES[store] = HsState()
        return state


def lock_object(store: OneCStore, ref: str, holder: str | None) -> None:
    """Let tests play a 1C user who keeps an object open for editing (``None`` releases it)."""
    state = hs_state(store)
    if holder is None:
        state.locks.pop(ref, None)
    else:
        state.locks[ref] = holder


def check_lock(store: OneCStore, ref: str, title: str) -> None:
    holder = hs_state(store).locks.get(ref)
    if holder:
        raise HsError(423, "locked", f"Не удалось записать «{title}»: объект заблокирован пользователем {holder}.")


@contextlib.contextmanager
def transaction(store: OneCStore) -> Iterator[list[tuple[str, str]]]:
    """``НачатьТранзакцию`` … ``ЗафиксироватьТранзакцию``: objects created inside are removed again
    if the block fails (the emulated store has no rollback; updates are validated before writing)."""
    created: list[tuple[str, str]] = []
    with store.lock:
        try:
            yield created
        except BaseException:
            for entity_set, ref in reversed(created):
                with contextlib.suppress(ODataError):
                    store.delete(entity_set, ref)
            raise


def request_hash(body: dict[str, Any]) -> str:
    """Hash of a request body without its precondition: equal hashes mean "the same PUT again"."""
    clean = {k: v for k, v in body.items() if k != "expected_data_version"}
    return hashlib.sha256(json.dumps(clean, ensure_ascii=False, sort_keys=True).encode()).hexdigest()



def check_version(record: dict[str, Any] | None, expected: Any, title: str) -> None:
    """``expected_data_version``: 412 on a mismatch, and on an object that does not exist yet."""
    if expected is None:
        return
    if record is None:
        raise HsError(412, "precondition_failed", f"{title} ещё не создан в 1С, а запрос ожидает версию {expected}.",
                      "expected_data_version",
                      [{"code": "data_version_mismatch", "field": "expected_data_version", "message": ""}])
    if record["DataVersion"] != expected:
        current = record["DataVersion"]
        raise HsError(412, "precondition_failed",
                      f"{title} изменён в 1С после чтения (версия данных {current} вместо {expected}). "
                      "Изменения не записаны.", "expected_data_version",
                      [{"code": "data_version_mismatch", "field": "expected_data_version", "message": current,
                        "ref": record["Ref_Key"]}])


def find_user(store: OneCStore, spec: Any, field: str) -> str:
    """A user by ``{"ref"}`` or ``{"name"}`` (the full name, as Bitrix24 users are matched); 404 if none."""
    if not isinstance(spec, dict) or len(spec) != 1 or not ({"ref", "name"} & spec.keys()):
        raise HsError(422, "validation_failed", "Пользователь задаётся одним свойством: ref или name", field,
                      [{"code": "invalid_format", "field": field, "message": "ref | name"}])
    if "ref" in spec:
        record = store.get("Catalog_Пользователи", spec["ref"]) if is_guid(spec["ref"]) else None
        if record is not None:
            return record["Ref_Key"]
        shown = spec["ref"]
    else:
        name = str(spec["name"]).strip().casefold()
        found = store.query("Catalog_Пользователи",
                            lambda r: r["Description"].casefold() == name and not r["DeletionMark"])
        if len(found) == 1:
            return found[0]["Ref_Key"]
        shown = spec["name"]
    raise HsError(404, "not_found", f"Пользователь «{shown}» не найден в 1С.", field,
                  [{"code": "user_not_found", "field": field, "message": str(shown)}])


def kind_name(store: OneCStore, ref: str) -> str:
    item = store.get(CI_KIND_SET, ref)
    return (item.get("PredefinedDataName") or item["Description"]) if item else ""


def single_organization(store: OneCStore, spec: Any, field: str = "organization") -> str:
    """The organisation by ``{"ref"}`` / ``{"inn"}``, or the only one when none is given."""
    if spec is None:
        found = store.query("Catalog_Организации", lambda r: not r["DeletionMark"])
        if len(found) == 1:
            return found[0]["Ref_Key"]
        raise HsError(422, "validation_failed", "В базе несколько организаций: укажите организацию заказа.", field,
                      [{"code": "required", "field": field, "message": "organization"}])
    if isinstance(spec, dict) and is_guid(spec.get("ref")) and store.get("Catalog_Организации", spec["ref"]):
        return str(spec["ref"]).lower()
    if isinstance(spec, dict) and "inn" in spec:
        found = store.query("Catalog_Организации", lambda r: r["ИНН"] == spec["inn"] and not r["DeletionMark"])
        if len(found) == 1:
            return found[0]["Ref_Key"]
    raise HsError(404, "not_found", f"Организация {json.dumps(spec, ensure_ascii=False)} не найдена в 1С.", field,
                  [{"code": "organization_not_found", "field": field, "message": str(spec)}])


def currency(store: OneCStore, code: Any, field: str = "currency") -> str:
    """``RUB`` or ``643`` → the ``Catalog_Валюты`` item whose Code is the ISO numeric code."""
    code = code or "RUB"
    numeric = CURRENCY_CODES.get(str(code).upper(), str(code))
    found = store.query("Catalog_Валюты", lambda r: r["Code"] == numeric and not r["DeletionMark"])
    if not found:
        raise HsError(422, "validation_failed", f"Валюта {code} не найдена в справочнике валют 1С.", field,
                      [{"code": "currency_not_found", "field": field, "message": str(code)}])
    return found[0]["Ref_Key"]


def ref_or_none(value: str) -> str | None:
    return None if value in ("", EMPTY_GUID) else value
