"""Business rules a real UT runs on write and on posting, as the emulator's pluggable hook.

On a real base these are the object modules' ``ПередЗаписью`` / ``ОбработкаПроведения``: when they
refuse, the OData client gets HTTP 500 with code ``-1`` and a Russian message, and retrying never
helps. They are skipped under ``1C_OData-DataLoadMode: true`` (``ОбменДанными.Загрузка``), posting
is not. Server-side recalculation (order rows, ``СуммаДокумента``, ``КодСтроки``) lives here too,
because in UT it is the same module code and is skipped the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from .errors import ODataError
from .values import EMPTY_GUID

if TYPE_CHECKING:
    from .store import OneCStore

__all__ = ["BusinessRules", "NoRules", "UTRules", "business_error"]

_LEGAL = ("ЮрЛицо", "ЮрЛицоНеРезидент")


def business_error(message: str, *, action: str = "записать") -> ODataError:
    """The 500/-1 answer of a refused write (``Не удалось записать: …``) or posting."""
    return ODataError(500, "-1", f"Не удалось {action}: {message}")


class BusinessRules(Protocol):
    """Hooks called under the store lock; raise :func:`business_error` to refuse."""

    def before_write(self, entity_set: str, record: dict[str, Any], is_new: bool, store: OneCStore) -> None: ...

    def before_post(self, entity_set: str, record: dict[str, Any], store: OneCStore) -> None: ...


class NoRules:
    """Accept everything (a configuration without checks)."""

    def before_write(self, entity_set: str, record: dict[str, Any], is_new: bool, store: OneCStore) -> None:
        return None

    def before_post(self, entity_set: str, record: dict[str, Any], store: OneCStore) -> None:
        return None


def _empty(value: Any) -> bool:
    return value in ("", EMPTY_GUID, None)


def _required(record: dict[str, Any], fields: dict[str, str]) -> None:
    for key, title in fields.items():
        if _empty(record.get(key)):
            raise business_error(f'Поле "{title}" не заполнено')


class UTRules:
    """What UT 11.5 enforces for the objects b24sync writes.

    ``closed_period``: the "дата запрета изменения" (``YYYY-MM-DDTHH:MM:SS``); documents dated on or
    before it cannot be written or posted. ``post_failures``: Ref_Key -> message to fail posting of
    that document with (e.g. "Недостаточно товара на складе"), for tests of the failure path.
    """

    def __init__(self, *, closed_period: str | None = None) -> None:
        self.closed_period = closed_period
        self.post_failures: dict[str, str] = {}

    def before_write(self, entity_set: str, record: dict[str, Any], is_new: bool, store: OneCStore) -> None:
        if entity_set == "Catalog_Контрагенты":
            self._counterparty(record)
        elif entity_set == "Catalog_Партнеры":
            _required(record, {"Description": "Рабочее наименование"})
        elif entity_set == "Document_ЗаказКлиента":
            _required(record, {"Контрагент_Key": "Контрагент", "Организация_Key": "Организация",
                               "Валюта_Key": "Валюта"})
            record["Статус"] = record["Статус"] or "НеСогласован"
            record["ХозяйственнаяОперация"] = record["ХозяйственнаяОперация"] or "РеализацияКлиенту"
            self._recalculate_order(record, store)
        elif entity_set == "Document_СчетНаОплатуКлиенту":
            _required(record, {"Организация_Key": "Организация", "Контрагент_Key": "Контрагент",
                               "Валюта_Key": "Валюта"})
        if entity_set.startswith("Document_"):
            self._check_closed_period(record, "записать")

    def before_post(self, entity_set: str, record: dict[str, Any], store: OneCStore) -> None:
        if record.get("DeletionMark"):
            raise business_error("документ помечен на удаление", action="провести")
        self._check_closed_period(record, "провести")
        message = self.post_failures.get(record["Ref_Key"])
        if message:
            raise business_error(message, action="провести")

    def _check_closed_period(self, record: dict[str, Any], action: str) -> None:
        if self.closed_period and record.get("Date", "") <= self.closed_period:
            raise business_error(f"Дата запрета изменения данных: {self.closed_period}", action=action)

    @staticmethod
    def _counterparty(record: dict[str, Any]) -> None:
        _required(record, {"Description": "Рабочее наименование", "Партнер_Key": "Партнер",
                           "ЮрФизЛицо": "Юр. / физ. лицо"})
        kind, inn, kpp = record["ЮрФизЛицо"], record["ИНН"], record["КПП"]
        if inn:
            if not inn.isdigit():
                raise business_error(f"ИНН {inn} содержит недопустимые символы")
            if kind == "ЮрЛицо" and len(inn) != 10:
                raise business_error(f"ИНН {inn} юридического лица должен состоять из 10 цифр")
            if kind in ("ФизЛицо", "ИндивидуальныйПредприниматель") and len(inn) != 12:
                raise business_error(f"ИНН {inn} физического лица должен состоять из 12 цифр")
        if kpp:
            if kind != "ЮрЛицо":
                raise business_error("КПП указывается только для юридических лиц")
            if len(kpp) != 9:
                raise business_error(f"КПП {kpp} должен состоять из 9 символов")
        record["ЮридическоеФизическоеЛицо"] = "ЮридическоеЛицо" if kind in _LEGAL else "ФизическоеЛицо"

    @staticmethod
    def _recalculate_order(record: dict[str, Any], store: OneCStore) -> None:
        """Row sums, VAT, ``КодСтроки``/``МаксимальныйКодСтроки`` and ``СуммаДокумента``: UT's own totals win."""
        includes_vat = bool(record.get("ЦенаВключаетНДС"))
        max_code = int(record.get("МаксимальныйКодСтроки") or 0)
        used: set[int] = set()
        total = 0.0
        for row in record.get("Товары", []):
            amount = round(float(row["Количество"]) * float(row["Цена"]) - float(row["СуммаРучнойСкидки"])
                           - float(row["СуммаАвтоматическойСкидки"]), 2)
            rate = store.vat_rate(row.get("СтавкаНДС_Key") or row.get("СтавкаНДС") or "")
            vat = round(amount * rate / (100 + rate), 2) if includes_vat else round(amount * rate / 100, 2)
            row["Сумма"] = amount
            row["СуммаНДС"] = vat
            row["СуммаСНДС"] = amount if includes_vat else round(amount + vat, 2)
            code = int(row.get("КодСтроки") or 0)
            if code <= 0 or code in used:
                max_code = max(max_code, *used, 0) + 1
                code = max_code
            used.add(code)
            row["КодСтроки"] = str(code)
            if not row.get("Отменено"):
                total += row["СуммаСНДС"]
        record["МаксимальныйКодСтроки"] = str(max(max_code, *used, 0))
        record["СуммаДокумента"] = round(total, 2)
