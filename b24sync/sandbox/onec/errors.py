"""The errors of 1C's standard OData interface: internal code, HTTP status, message.

A real base answers ``{"odata.error":{"code":"9","message":{"lang":"ru","value":…}}}`` (or the
Atom ``<m:error>``) with the vendor's internal code as a *string*. Clients classify failures by the
pair (HTTP status, code), so the emulator raises exactly one exception type carrying both; the
protocol layer renders it in the requested format. Message texts are 1C's own protocol strings.
"""

from __future__ import annotations

__all__ = [
    "CODE_STATUS",
    "ODataError",
    "bad_value",
    "method_forbidden",
    "not_found",
    "parse_error",
    "property_not_found",
    "unknown_set",
    "unsupported",
]

CODE_STATUS: dict[str, int] = {
    "0": 400,  # Возможность не поддерживается
    "1": 400,  # Не удалось разобрать строку
    "2": 400,  # Неверный формат запроса
    "3": 415,  # Запрошенный тип представления не поддерживается
    "4": 400,  # Неверное значение свойства
    "5": 400,  # Отсутствует обязательное значение свойства
    "6": 400,  # Неверный URL
    "7": 400,  # Не хватает элемента ключа сущности
    "8": 404,  # Тип сущности не найден
    "9": 404,  # Экземпляр сущности не найден
    "10": 400,  # Запрошенное свойство не найдено
    "11": 404,  # Метод не найден
    "12": 400,  # Отсутствует обязательный аргумент метода
    "13": 400,  # Создание строк табличных частей напрямую не поддерживается
    "14": 400,  # Ошибка разбора опций запроса
    "15": 409,  # Сущность с таким ключом уже существует
    "16": 400,  # Не удалось присвоить свойство
    "17": 400,  # Объект не поддерживает режим загрузки данных
    "19": 405,  # Использованный HTTP-метод запрещен в данном контексте
    "20": 401,  # Ошибка прав доступа
    "21": 400,  # Вызов нереализованной функции
    "-1": 500,  # исключение прикладного кода (ПередЗаписью, проведение, дата запрета)
}
"""Typical HTTP status per internal code (onec.md §6; the vendor does not tabulate statuses)."""


class ODataError(Exception):
    """A failure answered as ``odata.error``: HTTP ``status``, internal ``code`` (a string), ``message``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} [{code}] {message}")
        self.status = status
        self.code = str(code)
        self.message = message


def _err(code: str, message: str) -> ODataError:
    return ODataError(CODE_STATUS[code], code, message)


def unsupported(message: str) -> ODataError:
    """Code 0: a feature 1C does not have (``The $expan parameter is not supported``)."""
    return _err("0", message)


def unknown_set(name: str) -> ODataError:
    """Code 8, the book's verbatim text: the message names whatever set was requested."""
    return _err("8", f'"{name}" entity is not found')


def not_found(type_name: str = "") -> ODataError:
    """Code 9 for a key that matches nothing (texts as in the book and the vendor chapter)."""
    if type_name:
        return _err("9", f'Экземпляр сущности "{type_name}" не найден по переданному ключу.')
    return _err("9", "Entity instance not found")


def property_not_found(name: str) -> ODataError:
    return _err("10", f'Запрошенное свойство "{name}" не найдено')


def parse_error(option: str = "$filter") -> ODataError:
    """Code 14, the book's verbatim text for a bad ``$filter`` (``startwith(...)``)."""
    return _err("14", f"Error parsing {option} query option")


def bad_value(name: str, value: object) -> ODataError:
    return _err("4", f'Неверное значение свойства "{name}": {value!r}')


def method_forbidden() -> ODataError:
    return _err("19", "Использованный HTTP-метод запрещен в данном контексте")
