"""What a brand-new portal already contains: employees, catalog, stages, dictionaries, presets.

The data is Russian because the portals b24sync targets are; the shapes follow the samples of the
official documentation (``crm.status.list``, ``crm.category.list``, ``user.get``, presets…).
"""

from __future__ import annotations

from typing import Any

CUSTOM_STAGE_ID = "UC_K7M2QD"
"""The custom general-pipeline stage «Договор подписан» every sandbox portal has."""

DEAL_CATEGORY_NAMES = {0: "Общая", 1: "Повторные продажи"}
INVOICE_CATEGORY_ID = 2
"""Smart invoices live in one pipeline; its stages are ``DT31_2:…``."""

USERS: list[dict[str, Any]] = [
    {"NAME": "Алексей", "LAST_NAME": "Смирнов", "SECOND_NAME": "Петрович", "EMAIL": "admin@sandbox.example",
     "WORK_POSITION": "Администратор портала", "UF_DEPARTMENT": [1], "PERSONAL_GENDER": "M"},
    {"NAME": "Ольга", "LAST_NAME": "Кузнецова", "SECOND_NAME": "Игоревна", "EMAIL": "o.kuznetsova@sandbox.example",
     "WORK_POSITION": "Менеджер по продажам", "UF_DEPARTMENT": [2], "PERSONAL_GENDER": "F"},
    {"NAME": "Дмитрий", "LAST_NAME": "Попов", "SECOND_NAME": "Андреевич", "EMAIL": "d.popov@sandbox.example",
     "WORK_POSITION": "Менеджер по продажам", "UF_DEPARTMENT": [2], "PERSONAL_GENDER": "M"},
    {"NAME": "Елена", "LAST_NAME": "Васильева", "SECOND_NAME": "Сергеевна", "EMAIL": "e.vasilyeva@sandbox.example",
     "WORK_POSITION": "Главный бухгалтер", "UF_DEPARTMENT": [3], "PERSONAL_GENDER": "F"},
    {"NAME": "Игорь", "LAST_NAME": "Соколов", "SECOND_NAME": "Викторович", "EMAIL": "i.sokolov@sandbox.example",
     "WORK_POSITION": "Руководитель отдела продаж", "UF_DEPARTMENT": [1, 2], "PERSONAL_GENDER": "M"},
]

PRODUCTS: list[tuple[str, float, str]] = [
    ("Ноутбук Irbis 15", 54990.0, "шт"),
    ("Монитор 27\" IPS", 21490.0, "шт"),
    ("Клавиатура беспроводная", 2490.0, "шт"),
    ("Мышь оптическая", 890.0, "шт"),
    ("Кабель UTP 5e", 32.5, "м"),
    ("Бумага офисная А4", 419.0, "уп"),
    ("Картридж лазерный", 3990.0, "шт"),
    ("Установка ПО", 2500.0, "ч"),
    ("Абонентское обслуживание", 15000.0, "мес"),
    ("Сервер стоечный 1U", 289000.0, "шт"),
    ("Лицензия 1С:Предприятие", 12700.0, "шт"),
    ("Доставка по Москве", 700.0, "усл"),
]

MEASURES = {"шт": 796, "м": 6, "уп": 778, "ч": 356, "мес": 362, "усл": 876}

# (STATUS_ID, NAME, SORT, SEMANTICS, COLOR)
_DEAL_STAGES = [
    ("NEW", "Новая", 10, None, "#39A8EF"),
    ("PREPARATION", "Подготовка документов", 20, None, "#2FC6F6"),
    ("PREPAYMENT_INVOICE", "Счёт на предоплату", 30, None, "#55D0E0"),
    ("EXECUTING", "В работе", 40, None, "#47E4C2"),
    (CUSTOM_STAGE_ID, "Договор подписан", 45, None, "#FFA900"),
    ("FINAL_INVOICE", "Финальный счёт", 50, None, "#FFA900"),
    ("WON", "Сделка успешна", 60, "S", "#7BD500"),
    ("LOSE", "Сделка провалена", 70, "F", "#FF5752"),
    ("APOLOGY", "Анализ причины провала", 80, "F", "#FF5752"),
]
_DEAL_STAGES_1 = [
    ("NEW", "Новая", 10, None, "#39A8EF"),
    ("PREPARATION", "Подготовка документов", 20, None, "#2FC6F6"),
    ("EXECUTING", "В работе", 30, None, "#47E4C2"),
    ("WON", "Сделка успешна", 40, "S", "#7BD500"),
    ("LOSE", "Сделка провалена", 50, "F", "#FF5752"),
]
_LEAD_STATUSES = [
    ("NEW", "Не обработан", 10, None, "#2FC6F6"),
    ("IN_PROCESS", "В работе", 20, None, "#55D0E0"),
    ("PROCESSED", "Обработан", 30, None, "#FFA900"),
    ("CONVERTED", "Качественный лид", 40, "S", "#7BD500"),
    ("JUNK", "Некачественный лид", 50, "F", "#FF5752"),
]
_INVOICE_STAGES = [
    ("N", "Новый", 10, None, "#22B9FF"),
    ("S", "Отправлен клиенту", 20, None, "#FFA900"),
    ("P", "Оплачен", 30, "S", "#7BD500"),
    ("D", "Не оплачен", 40, "F", "#FF5752"),
]
_DICTIONARIES = {
    "SOURCE": [("CALL", "Звонок"), ("EMAIL", "Электронная почта"), ("WEB", "Веб-сайт"),
               ("ADVERTISING", "Реклама"), ("PARTNER", "Существующий клиент"),
               ("RECOMMENDATION", "По рекомендации"), ("TRADE_SHOW", "Выставка"), ("WEBFORM", "CRM-форма"),
               ("CALLBACK", "Обратный звонок"), ("OTHER", "Другое")],
    "CONTACT_TYPE": [("CLIENT", "Клиенты"), ("SUPPLIER", "Поставщики"), ("PARTNER", "Партнеры"),
                     ("OTHER", "Другое")],
    "COMPANY_TYPE": [("CUSTOMER", "Клиент"), ("SUPPLIER", "Поставщик"), ("COMPETITOR", "Конкурент"),
                     ("PARTNER", "Партнер"), ("OTHER", "Другое")],
    "DEAL_TYPE": [("SALE", "Продажа"), ("COMPLEX", "Комплексная продажа"), ("GOODS", "Продажа товара"),
                  ("SERVICES", "Продажа услуги"), ("SERVICE", "Сервисное обслуживание")],
    "INDUSTRY": [("IT", "Информационные технологии"), ("TELECOM", "Телекоммуникации и связь"),
                 ("MANUFACTURING", "Производство"), ("BANKING", "Банковские услуги"),
                 ("CONSULTING", "Консалтинг"), ("FINANCE", "Финансы"), ("GOVERNMENT", "Правительство"),
                 ("DELIVERY", "Доставка"), ("OTHER", "Другое")],
    "EMPLOYEES": [("EMPLOYEES_1", "менее 50"), ("EMPLOYEES_2", "50-250"), ("EMPLOYEES_3", "250-500"),
                  ("EMPLOYEES_4", "более 500")],
    "HONORIFIC": [("HNR_RU_1", "г-н"), ("HNR_RU_2", "г-жа")],
}

STATUS_ENTITY_NAMES = {
    "STATUS": "Статусы", "SOURCE": "Источники", "CONTACT_TYPE": "Тип контакта",
    "COMPANY_TYPE": "Тип компании", "DEAL_TYPE": "Тип сделки", "INDUSTRY": "Сфера деятельности",
    "EMPLOYEES": "Кол-во сотрудников", "HONORIFIC": "Обращения", "DEAL_STAGE": "Стадии сделки",
    "DEAL_STAGE_1": "Стадии сделки Повторные продажи",
    f"SMART_INVOICE_STAGE_{INVOICE_CATEGORY_ID}": "Стадии счёта",
}

PRESETS = [(1, "Организация", 1), (2, "ИП", 2), (3, "Физ. лицо", 3)]
"""(ID, NAME, entity kind) of the Russian requisite templates."""

ADDRESS_TYPES = [(1, "Фактический адрес"), (4, "Адрес регистрации"), (6, "Юридический адрес"),
                 (8, "Адрес для корреспонденции"), (9, "Адрес бенефициара"), (11, "Адрес доставки")]

CURRENCIES = ("RUB", "USD", "EUR")


def status_rows() -> list[dict[str, Any]]:
    """Every ``crm.status.list`` row of a fresh portal, in the store's internal form."""
    rows: list[dict[str, Any]] = []

    def add(entity: str, status_id: str, name: str, sort: int, semantics: str | None, color: str | None,
            category: int | None, system: bool) -> None:
        extra = None
        if color is not None:
            word = {"S": "success", "F": "failure"}.get(semantics or "", "process")
            extra = {"SEMANTICS": word, "COLOR": color}
        rows.append({"ENTITY_ID": entity, "STATUS_ID": status_id, "NAME": name, "NAME_INIT": name if system else None,
                     "SORT": sort, "SYSTEM": "Y" if system else "N", "CATEGORY_ID": category, "COLOR": color,
                     "SEMANTICS": semantics, "EXTRA": extra})

    for status_id, name, sort, sem, color in _DEAL_STAGES:
        add("DEAL_STAGE", status_id, name, sort, sem, color, None, not status_id.startswith("UC_"))
    for status_id, name, sort, sem, color in _DEAL_STAGES_1:
        add("DEAL_STAGE_1", f"C1:{status_id}", name, sort, sem, color, 1, True)
    for status_id, name, sort, sem, color in _LEAD_STATUSES:
        add("STATUS", status_id, name, sort, sem, color, None, True)
    entity = f"SMART_INVOICE_STAGE_{INVOICE_CATEGORY_ID}"
    for status_id, name, sort, sem, color in _INVOICE_STAGES:
        add(entity, f"DT31_{INVOICE_CATEGORY_ID}:{status_id}", name, sort, sem, color, INVOICE_CATEGORY_ID, True)
    for entity, items in _DICTIONARIES.items():
        for index, (status_id, name) in enumerate(items, start=1):
            add(entity, status_id, name, index * 10, None, None, None, True)
    return rows


def stage_entity(entity_type_id: int, category_id: int) -> str:
    """The ``crm.status`` ENTITY_ID holding a pipeline's stages."""
    if entity_type_id == 1:
        return "STATUS"
    if entity_type_id == 31:
        return f"SMART_INVOICE_STAGE_{category_id}"
    return "DEAL_STAGE" if category_id == 0 else f"DEAL_STAGE_{category_id}"
