"""Field catalogues of the CRM entities, as ``crm.<entity>.fields`` describes them.

One declarative table per entity drives everything else: which keys add/update accept, how each
value is stored and rendered, what ``select *`` means, which keys a filter understands and what
``*.fields`` answers. Keeping it data means a field exists in every method or in none.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MULTIFIELDS = ("PHONE", "EMAIL", "WEB", "IM", "LINK")

_KIND_BY_TYPE = {
    "integer": "int", "user": "int", "crm_company": "int", "crm_contact": "int", "crm_lead": "int",
    "crm_quote": "int", "crm_category": "int", "crm_deal": "int", "crm_entity": "int", "location": "int",
    "double": "double", "money": "money", "char": "char", "datetime": "datetime", "date": "date",
    "crm_multifield": "fm",
}


@dataclass(frozen=True)
class Field:
    """One standard field: ``kind`` is the store form, ``type`` the name ``*.fields`` reports."""

    name: str
    type: str
    title: str
    required: bool = False
    readonly: bool = False
    immutable: bool = False
    multiple: bool = False
    status_type: str | None = None
    kind: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        kind = "fm" if self.type == "crm_multifield" else "ids" if self.multiple else \
            _KIND_BY_TYPE.get(self.type, "str")
        object.__setattr__(self, "kind", kind)

    def describe(self) -> dict[str, object]:
        out: dict[str, object] = {
            "type": "double" if self.type == "money" else self.type,
            "isRequired": self.required, "isReadOnly": self.readonly, "isImmutable": self.immutable,
            "isMultiple": self.multiple, "isDynamic": False, "title": self.title,
        }
        if self.status_type:
            out["statusType"] = self.status_type
        return out


def _table(spec: str) -> dict[str, Field]:
    """Parse ``NAME type flags Title…`` lines; flags: R required, o read-only, i immutable, M multiple."""
    fields: dict[str, Field] = {}
    for line in filter(str.strip, spec.splitlines()):
        name, ftype, flags, title = line.split(None, 3)
        status = None
        if ftype.startswith("crm_status:"):
            ftype, status = ftype.split(":", 1)
        fields[name] = Field(
            name, ftype, title, required="R" in flags, readonly="o" in flags, immutable="i" in flags,
            multiple="M" in flags or ftype == "crm_multifield", status_type=status,
        )
    return fields


_COMMON_TAIL = """
ASSIGNED_BY_ID user - Ответственный
CREATED_BY_ID user o Кем создана
MODIFY_BY_ID user o Кем изменена
DATE_CREATE datetime o Дата создания
DATE_MODIFY datetime o Дата изменения
OPENED char - Доступен для всех
ORIGINATOR_ID string - Внешний источник
ORIGIN_ID string - Идентификатор элемента во внешнем источнике
LAST_ACTIVITY_BY user o Последняя активность
LAST_ACTIVITY_TIME datetime o Последняя активность
UTM_SOURCE string - Рекламная система
UTM_MEDIUM string - Тип трафика
UTM_CAMPAIGN string - Обозначение рекламной кампании
UTM_CONTENT string - Содержание кампании
UTM_TERM string - Условие поиска кампании
"""

_FM = """
PHONE crm_multifield - Телефон
EMAIL crm_multifield - E-mail
WEB crm_multifield - Сайт
IM crm_multifield - Мессенджер
LINK crm_multifield - LINK
"""

CONTACT = _table("""
ID integer o ID
HONORIFIC crm_status:HONORIFIC - Обращение
NAME string R Имя
SECOND_NAME string R Отчество
LAST_NAME string R Фамилия
PHOTO file - Фотография
BIRTHDATE date - Дата рождения
TYPE_ID crm_status:CONTACT_TYPE - Тип контакта
SOURCE_ID crm_status:SOURCE - Источник
SOURCE_DESCRIPTION string - Дополнительно об источнике
POST string - Должность
ADDRESS string - Адрес
COMMENTS string - Комментарий
EXPORT char - Участвует в экспорте контактов
HAS_PHONE char o Задан телефон
HAS_EMAIL char o Задан e-mail
HAS_IMOL char o Задана открытая линия
COMPANY_ID crm_company - Компания
COMPANY_IDS crm_company M Компании
LEAD_ID crm_lead o Лид
ORIGIN_VERSION string - Версия оригинала
""" + _COMMON_TAIL + _FM)

COMPANY = _table("""
ID integer o ID
TITLE string R Название компании
COMPANY_TYPE crm_status:COMPANY_TYPE - Тип компании
LOGO file - Логотип
ADDRESS string - Адрес
ADDRESS_LEGAL string - Юридический адрес
BANKING_DETAILS string - Банковские реквизиты
INDUSTRY crm_status:INDUSTRY - Сфера деятельности
EMPLOYEES crm_status:EMPLOYEES - Кол-во сотрудников
CURRENCY_ID crm_currency - Валюта
REVENUE double - Годовой оборот
COMMENTS string - Комментарий
HAS_PHONE char o Задан телефон
HAS_EMAIL char o Задан e-mail
HAS_IMOL char o Задана открытая линия
IS_MY_COMPANY char - Моя компания
CONTACT_ID crm_contact M Контакты
LEAD_ID crm_lead o Лид
ORIGIN_VERSION string - Версия оригинала
""" + _COMMON_TAIL + _FM)

DEAL = _table("""
ID integer o ID
TITLE string - Название
TYPE_ID crm_status:DEAL_TYPE - Тип
CATEGORY_ID crm_category i Воронка
STAGE_ID crm_status:DEAL_STAGE - Стадия сделки
STAGE_SEMANTIC_ID string o Группа стадии
IS_NEW char o Новая сделка
IS_RECURRING char - Регулярная сделка
IS_RETURN_CUSTOMER char o Повторная сделка
IS_REPEATED_APPROACH char o Повторное обращение
PROBABILITY integer - Вероятность
CURRENCY_ID crm_currency - Валюта
OPPORTUNITY money - Сумма
IS_MANUAL_OPPORTUNITY char - Сумма заполняется вручную
TAX_VALUE money - Ставка налога
COMPANY_ID crm_company - Компания
CONTACT_ID crm_contact - Контакт
CONTACT_IDS crm_contact M Контакты
QUOTE_ID crm_quote o Предложение
BEGINDATE date - Дата начала
CLOSEDATE date - Предполагаемая дата закрытия
CLOSED char - Закрыта
COMMENTS string - Комментарий
ADDITIONAL_INFO string - Дополнительная информация
LOCATION_ID location - Местоположение
SOURCE_ID crm_status:SOURCE - Источник
SOURCE_DESCRIPTION string - Дополнительно об источнике
LEAD_ID crm_lead o Лид
MOVED_BY_ID user o Кем изменена стадия
MOVED_TIME datetime o Дата изменения стадии
""" + _COMMON_TAIL)

LEAD = _table("""
ID integer o ID
TITLE string - Название лида
HONORIFIC crm_status:HONORIFIC - Обращение
NAME string - Имя
SECOND_NAME string - Отчество
LAST_NAME string - Фамилия
BIRTHDATE date - Дата рождения
COMPANY_TITLE string - Название компании
SOURCE_ID crm_status:SOURCE - Источник
SOURCE_DESCRIPTION string - Дополнительно об источнике
STATUS_ID crm_status:STATUS - Стадия
STATUS_DESCRIPTION string - Дополнительно о стадии
STATUS_SEMANTIC_ID string o Состояние статуса
POST string - Должность
ADDRESS string - Адрес
CURRENCY_ID crm_currency - Валюта
OPPORTUNITY money - Сумма
IS_MANUAL_OPPORTUNITY char - Сумма заполняется вручную
COMMENTS string - Комментарий
HAS_PHONE char o Задан телефон
HAS_EMAIL char o Задан e-mail
HAS_IMOL char o Задана открытая линия
IS_RETURN_CUSTOMER char o Повторный лид
DATE_CLOSED datetime o Дата закрытия
COMPANY_ID crm_company - Компания
CONTACT_ID crm_contact - Контакт
CONTACT_IDS crm_contact M Контакты
MOVED_BY_ID user o Кем изменена стадия
MOVED_TIME datetime o Дата изменения стадии
""" + _COMMON_TAIL + _FM)

REQUISITE = _table("""
ID integer o ID
ENTITY_TYPE_ID integer Ri Тип родительской сущности
ENTITY_ID integer Ri ID родительской сущности
PRESET_ID integer Ri Шаблон
DATE_CREATE datetime o Дата создания
DATE_MODIFY datetime o Дата изменения
CREATED_BY_ID user o Кем создан
MODIFY_BY_ID user o Кем изменен
NAME string R Название
CODE string - Символьный код
XML_ID string - Внешний ключ
ORIGINATOR_ID string - Идентификатор внешней системы
ACTIVE char - Активен
ADDRESS_ONLY char - Только адрес
SORT integer - Сортировка
RQ_NAME string - Ф.И.О.
RQ_FIRST_NAME string - Имя
RQ_LAST_NAME string - Фамилия
RQ_SECOND_NAME string - Отчество
RQ_COMPANY_NAME string - Сокращенное наименование организации
RQ_COMPANY_FULL_NAME string - Полное наименование организации
RQ_COMPANY_REG_DATE string - Дата государственной регистрации
RQ_DIRECTOR string - Ген. директор
RQ_ACCOUNTANT string - Гл. бухгалтер
RQ_CEO_NAME string - ФИО руководителя
RQ_CEO_WORK_POS string - Должность руководителя
RQ_CONTACT string - Контактное лицо
RQ_EMAIL string - E-mail
RQ_PHONE string - Телефон
RQ_FAX string - Факс
RQ_IDENT_DOC string - Вид документа
RQ_IDENT_DOC_SER string - Серия
RQ_IDENT_DOC_NUM string - Номер
RQ_IDENT_DOC_DATE string - Дата выдачи
RQ_IDENT_DOC_ISSUED_BY string - Кем выдан
RQ_IDENT_DOC_DEP_CODE string - Код подразделения
RQ_INN string - ИНН
RQ_KPP string - КПП
RQ_OGRN string - ОГРН
RQ_OGRNIP string - ОГРНИП
RQ_OKPO string - ОКПО
RQ_OKTMO string - ОКТМО
RQ_OKVED string - ОКВЭД
RQ_VAT_PAYER char - Плательщик НДС
RQ_VAT_ID string - VAT ID
""")

INVOICE = _table("""
ID integer o ID
XML_ID string - Внешний код
TITLE string - Название
ACCOUNT_NUMBER string - Номер счета
CATEGORY_ID crm_category i Воронка
STAGE_ID crm_status - Стадия
PREVIOUS_STAGE_ID crm_status o Предыдущая стадия
BEGINDATE date - Дата выставления
CLOSEDATE date - Срок оплаты
COMPANY_ID crm_company - Компания
CONTACT_ID crm_contact - Контакт
CONTACT_IDS crm_contact M Контакты
MYCOMPANY_ID crm_company - Реквизиты вашей компании
OPPORTUNITY money - Сумма
IS_MANUAL_OPPORTUNITY char - Сумма заполняется вручную
TAX_VALUE money - Сумма налога
CURRENCY_ID crm_currency - Валюта
SOURCE_ID crm_status:SOURCE - Источник
SOURCE_DESCRIPTION string - Дополнительно об источнике
COMMENTS string - Комментарий
PARENT_ID_2 crm_deal - Сделка
ASSIGNED_BY_ID user - Ответственный
CREATED_BY_ID user o Кем создан
MODIFY_BY_ID user o Кем изменен
DATE_CREATE datetime o Когда создан
DATE_MODIFY datetime o Когда изменен
OPENED char - Доступен для всех
MOVED_BY_ID user o Кем изменена стадия
MOVED_TIME datetime o Дата изменения стадии
""")

INVOICE_LEGACY = _table("""
ID integer o Идентификатор
ACCOUNT_NUMBER string R Номер
COMMENTS text - Комментарий менеджера
CREATED_BY integer o Кем создан
CURRENCY crm_currency o Валюта
DATE_BILL date - Дата выставления
DATE_INSERT datetime - Дата создания
DATE_MARKED datetime - Дата отклонения
DATE_PAY_BEFORE date - Срок оплаты
DATE_PAYED datetime o Дата оплаты (смены признака)
DATE_STATUS datetime o Дата смены статуса
DATE_UPDATE datetime o Дата изменения
EMP_PAYED_ID integer o Кто отметил оплату
EMP_STATUS_ID integer o Кто сменил статус
LID string o Сайт
IS_RECURRING char - Шаблон регулярного счета
XML_ID string - Внешний код
ORDER_TOPIC string R Тема
PAY_SYSTEM_ID integer R Печатная форма
PAY_VOUCHER_DATE date - Дата оплаты
PAY_VOUCHER_NUM string - Номер платежного документа
PAYED char o Оплачен
PERSON_TYPE_ID integer R Тип плательщика
PRICE money o Сумма
REASON_MARKED string - Комментарий к статусу
RESPONSIBLE_EMAIL string o E-mail ответственного
RESPONSIBLE_ID integer - Ответственный
RESPONSIBLE_LAST_NAME string o Фамилия ответственного
RESPONSIBLE_LOGIN string o Логин ответственного
RESPONSIBLE_NAME string o Имя ответственного
RESPONSIBLE_PERSONAL_PHOTO integer o Фото ответственного
RESPONSIBLE_SECOND_NAME string o Отчество ответственного
RESPONSIBLE_WORK_POSITION string o Должность ответственного
STATUS_ID crm_status:INVOICE_STATUS - Статус
TAX_VALUE money o Сумма налога
UF_COMPANY_ID integer - Компания
UF_CONTACT_ID integer - Контакт
UF_MYCOMPANY_ID integer - Моя компания
UF_DEAL_ID integer - Сделка
UF_QUOTE_ID integer - Предложение
USER_DESCRIPTION string - Комментарий для клиента
""")
"""The deprecated (pre-smart) invoice of ``crm.invoice.*``: the flat columns ``*.list`` can return.

``PR_LOCATION``, ``INVOICE_PROPERTIES`` and ``PRODUCT_ROWS`` are described and returned by
``fields``/``get`` only (``invoices_legacy``), because the list method never returns them.
"""

ALWAYS_READONLY = frozenset(
    {"ID", "DATE_CREATE", "DATE_MODIFY", "CREATED_BY_ID", "MODIFY_BY_ID", "HAS_PHONE", "HAS_EMAIL",
     "HAS_IMOL", "STAGE_SEMANTIC_ID", "STATUS_SEMANTIC_ID", "LEAD_ID", "QUOTE_ID", "MOVED_BY_ID",
     "MOVED_TIME", "LAST_ACTIVITY_BY", "LAST_ACTIVITY_TIME", "IS_NEW", "IS_RETURN_CUSTOMER",
     "IS_REPEATED_APPROACH", "DATE_CLOSED", "PREVIOUS_STAGE_ID", "CLOSED"}
)
"""Keys add/update silently drop (``IMPORT=Y`` re-admits the four timestamps/authors)."""

IMPORT_WRITABLE = frozenset({"DATE_CREATE", "DATE_MODIFY", "CREATED_BY_ID", "MODIFY_BY_ID"})

ADDRESS = _table("""
TYPE_ID integer Ri Тип адреса
ENTITY_TYPE_ID integer Ri Тип родительской сущности
ENTITY_ID integer Ri ID родительской сущности
ADDRESS_1 string - Улица, дом, корпус, строение
ADDRESS_2 string - Квартира / офис
CITY string - Город
POSTAL_CODE string - Почтовый индекс
REGION string - Район
PROVINCE string - Область
COUNTRY string - Страна
COUNTRY_CODE string - Код страны
LOC_ADDR_ID integer - ID адреса местоположения
ANCHOR_TYPE_ID integer o Тип основного родителя
ANCHOR_ID integer o ID основного родителя
""")

PRODUCT = _table("""
ID integer o ID
CATALOG_ID integer - Каталог
PRICE money - Цена
CURRENCY_ID crm_currency - Валюта
NAME string R Название
CODE string - Символьный код
DESCRIPTION string - Описание
DESCRIPTION_TYPE string - Тип описания
ACTIVE char - Активен
SECTION_ID integer - Раздел
SORT integer - Сортировка
VAT_ID integer - Ставка НДС
VAT_INCLUDED char - НДС включен в цену
MEASURE integer - Единица измерения
XML_ID string - Внешний код
PREVIEW_PICTURE product_file - Картинка для анонса
DETAIL_PICTURE product_file - Детальная картинка
DATE_CREATE datetime o Дата создания
TIMESTAMP_X datetime o Дата изменения
MODIFIED_BY user o Кем изменен
CREATED_BY user o Кем создан
""")
