"""The 1C:UT 11.5 model (+ 1C:CRM's lead document) as its standard OData interface publishes it.

Names and types of ``Catalog_Контрагенты``, its contact-information rows, ``Catalog_Валюты`` and the
order/sale headers follow the real UT 11.5 ``$metadata`` excerpt (onec-samples); sets the excerpt
lacks follow onec.md §9 (fields observed in public clients). Two switches reproduce the
configuration drift clients trip over: ``bp_counterparties`` (BP-style hierarchical counterparties
with ``Code``/``Parent_Key``/``IsFolder``) and ``vat_enum`` (UT 11.4's ``СтавкаНДС`` enum instead of
the ``СтавкаНДС_Key`` catalog reference).
"""

from __future__ import annotations

import uuid

from .schema import CATALOG, COMPOSITE, CTYPE, DOCUMENT, ENUM, REF, EntitySet, EnumType, Predefined, Prop, Schema, Table

__all__ = ["CI_KIND_SET", "PREDEFINED_NAMESPACE", "ut115_schema"]

CI_KIND_SET = "Catalog_ВидыКонтактнойИнформации"
PREDEFINED_NAMESPACE = uuid.UUID("6f1c2b7e-0d4a-4c1e-9a55-1c0de0da7a11")


def s(name: str) -> Prop:
    return Prop(name)


def b(name: str) -> Prop:
    return Prop(name, "Edm.Boolean")


def d(name: str) -> Prop:
    return Prop(name, "Edm.DateTime")


def n(name: str) -> Prop:
    return Prop(name, "Edm.Double")


def i64(name: str) -> Prop:
    return Prop(name, "Edm.Int64")


def ref(name: str, target: str) -> Prop:
    return Prop(f"{name}_Key", "Edm.Guid", REF, target)


def enum(name: str, enum_type: str | None = None) -> Prop:
    return Prop(name, "Edm.String", ENUM, enum_type or name)


def comp(name: str, *types: str) -> tuple[Prop, Prop]:
    return Prop(name, "Edm.String", COMPOSITE, "|".join(types)), Prop(f"{name}_Type", "Edm.String", CTYPE)


def catalog_head(name: str, *, code: bool = False, hierarchy: str = "", owner: str = "") -> list[Prop]:
    """Standard catalog properties in the real order; ``hierarchy`` is ``""``, ``"items"`` or ``"groups"``."""
    head = [Prop("Ref_Key", "Edm.Guid", nullable=False), b("Predefined"), s("PredefinedDataName"), s("DataVersion"),
            s("Description")]
    if code:
        head.append(s("Code"))
    if owner:
        head.append(ref("Owner", owner))
    if hierarchy:
        head.append(ref("Parent", name))
    if hierarchy == "groups":
        head.append(b("IsFolder"))
    head.append(b("DeletionMark"))
    return head


def document_head() -> list[Prop]:
    return [Prop("Ref_Key", "Edm.Guid", nullable=False), s("DataVersion"), s("Number"), d("Date"), b("DeletionMark"),
            b("Posted")]


CONTACT_ROW = (
    enum("Тип", "ТипыКонтактнойИнформации"), ref("Вид", CI_KIND_SET), s("Представление"), s("ЗначенияПолей"),
    s("Страна"), s("Регион"), s("Город"), s("АдресЭП"), s("ДоменноеИмяСервера"), s("НомерТелефона"),
    s("НомерТелефонаБезКодов"), ref("ВидДляСписка", CI_KIND_SET), d("ДействуетС"), s("Значение"),
)
EXTRA_ATTRS_ROW = (ref("Свойство", "ChartOfCharacteristicTypes_ДополнительныеРеквизитыИСведения"), *comp("Значение"),
                   s("ТекстоваяСтрока"))


def _contact_info() -> Table:
    return Table("КонтактнаяИнформация", CONTACT_ROW)


def _extra_attrs() -> Table:
    # the excerpt's row order: Свойство_Key, Значение, ТекстоваяСтрока, Значение_Type
    return Table("ДополнительныеРеквизиты", (EXTRA_ATTRS_ROW[0], EXTRA_ATTRS_ROW[1], EXTRA_ATTRS_ROW[3],
                                             EXTRA_ATTRS_ROW[2]))


ENUMS = (
    EnumType("ЮрФизЛицо", ("ЮрЛицо", "ЮрЛицоНеРезидент", "ИндивидуальныйПредприниматель", "ФизЛицо")),
    EnumType("ЮридическоеФизическоеЛицо", ("ЮридическоеЛицо", "ФизическоеЛицо")),
    EnumType("КомпанияЧастноеЛицо", ("Компания", "ЧастноеЛицо")),
    EnumType("ТипыКонтактнойИнформации",
             ("Адрес", "Телефон", "АдресЭлектроннойПочты", "ВебСтраница", "Факс", "Skype", "Другое")),
    EnumType("СтатусыЗаказовКлиентов", ("НеСогласован", "КОбеспечению", "КОтгрузке", "Закрыт")),
    EnumType("СтатусыСделокСКлиентами", ("ВРаботе", "Выиграна", "Проиграна")),
    EnumType("ХозяйственныеОперации", ("РеализацияКлиенту", "РеализацияКлиентуРеглУчет", "ПередачаНаКомиссию",
                                       "ЗакупкаУПоставщика", "ВозвратТоваровОтКлиента")),
    EnumType("ФормыОплаты", ("Наличная", "Безналичная", "ПлатежнаяКарта")),
    EnumType("ПорядокРасчетов", ("ПоДоговорамКонтрагентов", "ПоЗаказамНакладным", "ПоНакладным")),
    EnumType("ТипыНалогообложенияНДС", ("ПродажаОблагаетсяНДС", "ПродажаНеОблагаетсяНДС", "ПродажаОблагаетсяЕНВД",
                                        "ЭкспортНесырьевыхТоваров")),
    EnumType("ВариантыОбеспечения", ("Отгрузить", "ОтгрузитьОбособленно", "КОбеспечению", "КОбеспечениюОбособленно",
                                     "СоСклада", "НеТребуется")),
    EnumType("ПолФизическогоЛица", ("Мужской", "Женский")),
    EnumType("ТипыНоменклатуры", ("Товар", "Услуга", "Работа", "МногооборотнаяТара", "Набор")),
    EnumType("СпособыУстановкиКурсаВалюты", ("РучнойВвод", "ЗагрузкаИзИнтернета", "НаценкаНаКурсДругойВалюты",
                                             "РасчетПоФормуле")),
    EnumType("СтавкиНДС", ("БезНДС", "НДС0", "НДС10", "НДС18", "НДС20", "НДС10_110", "НДС20_120")),
)

_CI_KINDS = (
    # (PredefinedDataName, Description, Тип, parent group)
    ("СправочникКонтрагенты", "Контрагенты", "", ""),
    ("СправочникПартнеры", "Партнеры", "", ""),
    ("СправочникКонтактныеЛицаПартнеров", "Контактные лица партнеров", "", ""),
    ("СправочникОрганизации", "Организации", "", ""),
    ("ЮрАдресКонтрагента", "Юридический адрес", "Адрес", "СправочникКонтрагенты"),
    ("ФактАдресКонтрагента", "Фактический адрес", "Адрес", "СправочникКонтрагенты"),
    ("ПочтовыйАдресКонтрагента", "Почтовый адрес", "Адрес", "СправочникКонтрагенты"),
    ("ТелефонКонтрагента", "Телефон", "Телефон", "СправочникКонтрагенты"),
    ("EmailКонтрагента", "Адрес электронной почты", "АдресЭлектроннойПочты", "СправочникКонтрагенты"),
    ("ФаксКонтрагента", "Факс", "Факс", "СправочникКонтрагенты"),
    ("АдресПартнера", "Адрес", "Адрес", "СправочникПартнеры"),
    ("ТелефонПартнера", "Телефон", "Телефон", "СправочникПартнеры"),
    ("EmailПартнера", "Адрес электронной почты", "АдресЭлектроннойПочты", "СправочникПартнеры"),
    ("ТелефонКонтактногоЛица", "Телефон", "Телефон", "СправочникКонтактныеЛицаПартнеров"),
    ("EmailКонтактногоЛица", "Адрес электронной почты", "АдресЭлектроннойПочты", "СправочникКонтактныеЛицаПартнеров"),
    ("ЮрАдресОрганизации", "Юридический адрес", "Адрес", "СправочникОрганизации"),
    ("ТелефонОрганизации", "Телефон", "Телефон", "СправочникОрганизации"),
)


def predefined_ref(set_name: str, name: str) -> str:
    """A stable Ref_Key per predefined item, so every emulator run (and the seed) agrees on it."""
    return str(uuid.uuid5(PREDEFINED_NAMESPACE, f"{set_name}.{name}"))


def _ci_kind_items() -> tuple[Predefined, ...]:
    items = []
    for name, description, kind, parent in _CI_KINDS:
        values: dict[str, object] = {"Description": description, "IsFolder": not kind, "Используется": True}
        if kind:
            values["Тип"] = kind
            values["Parent_Key"] = predefined_ref(CI_KIND_SET, parent)
        items.append(Predefined(name, values, predefined_ref(CI_KIND_SET, name)))
    return tuple(items)


def _counterparties(bp: bool) -> EntitySet:
    name = "Catalog_Контрагенты"
    return EntitySet(name, CATALOG, (
        *catalog_head(name, code=bp, hierarchy="groups" if bp else ""),
        s("НаименованиеПолное"), b("ОбособленноеПодразделение"), enum("ЮридическоеФизическоеЛицо"),
        ref("СтранаРегистрации", "Catalog_СтраныМира"), ref("ГоловнойКонтрагент", name), s("ИНН"), s("КПП"),
        s("ДополнительнаяИнформация"), ref("Партнер", "Catalog_Партнеры"), enum("ЮрФизЛицо"), b("НДСПоСтавкам4и2"),
        s("КодПоОКПО"), s("РегистрационныйНомер"), s("НалоговыйНомер"), s("НаименованиеМеждународное"),
        s("НаименованиеВТранскрипции"), s("пр_НаименованиеДляПечати"), s("Б_Идентификатор"), s("Б_НомерВерсии"),
    ), (
        _contact_info(), _extra_attrs(), Table("ИсторияКПП", (d("Период"), s("КПП"))),
        Table("ИсторияНаименований", (d("Период"), s("СокращенноеНаименование"))),
    ), code_length=11 if bp else 0, code_prefix="00-" if bp else "")


def _goods_row(vat_enum: bool) -> Table:
    vat = enum("СтавкаНДС", "СтавкиНДС") if vat_enum else ref("СтавкаНДС", "Catalog_СтавкиНДС")
    return Table("Товары", (
        ref("Номенклатура", "Catalog_Номенклатура"), ref("Характеристика", "Catalog_ХарактеристикиНоменклатуры"),
        ref("Упаковка", "Catalog_УпаковкиЕдиницыИзмерения"), n("КоличествоУпаковок"), n("Количество"),
        ref("ВидЦены", "Catalog_ВидыЦен"), n("Цена"), n("Сумма"), vat, n("СуммаНДС"), n("СуммаСНДС"),
        i64("КодСтроки"), b("Отменено"), ref("Склад", "Catalog_Склады"), d("ДатаОтгрузки"),
        enum("ВариантОбеспечения", "ВариантыОбеспечения"), n("СуммаРучнойСкидки"), n("ПроцентРучнойСкидки"),
        n("СуммаАвтоматическойСкидки"), n("ПроцентАвтоматическойСкидки"),
    ))


def _payment_schedule() -> Table:
    return Table("ЭтапыГрафикаОплаты", (d("ДатаПлатежа"), n("ПроцентПлатежа"), n("СуммаПлатежа"), n("СуммаНДС")))


def _catalogs(bp: bool) -> list[EntitySet]:
    partners = "Catalog_Партнеры"
    return [
        _counterparties(bp),
        EntitySet(partners, CATALOG, (
            *catalog_head(partners, code=True, hierarchy="items"), s("НаименованиеПолное"),
            ref("ОсновнойМенеджер", "Catalog_Пользователи"), ref("БизнесРегион", "Catalog_БизнесРегионы"),
            d("ДатаРегистрации"), s("Комментарий"), enum("ЮрФизЛицо", "КомпанияЧастноеЛицо"), b("Клиент"),
            b("Поставщик"), b("Конкурент"), b("ПрочиеОтношения"), b("Перевозчик"),
            b("ОбслуживаетсяТорговымиПредставителями"), b("НеВестиРаботу"),
        ), (_contact_info(), _extra_attrs()), code_length=11, code_prefix="00-"),
        EntitySet("Catalog_КонтактныеЛицаПартнеров", CATALOG, (
            *catalog_head("Catalog_КонтактныеЛицаПартнеров", owner=partners), s("ДолжностьПоВизитке"), s("Фамилия"),
            s("Имя"), s("Отчество"), d("ДатаРождения"), enum("Пол", "ПолФизическогоЛица"), s("Комментарий"),
        ), (_contact_info(),)),
        EntitySet(CI_KIND_SET, CATALOG, (
            *catalog_head(CI_KIND_SET, hierarchy="groups"), enum("Тип", "ТипыКонтактнойИнформации"),
            b("Используется"), b("РазрешитьВводНесколькихЗначений"), s("ИмяПредопределенногоВида"),
        ), predefined=_ci_kind_items()),
        EntitySet("Catalog_Пользователи", CATALOG, (
            *catalog_head("Catalog_Пользователи"), b("Недействителен"), b("Служебный"),
            Prop("ИдентификаторПользователяИБ", "Edm.Guid"), ref("ФизическоеЛицо", "Catalog_ФизическиеЛица"),
            ref("Подразделение", "Catalog_СтруктураПредприятия"), s("Комментарий"),
        ), (_contact_info(),)),
        EntitySet("Catalog_Организации", CATALOG, (
            *catalog_head("Catalog_Организации"), s("НаименованиеПолное"), s("НаименованиеСокращенное"), s("ИНН"),
            s("КПП"), s("ОГРН"), s("Префикс"), enum("ЮрФизЛицо"), b("ОбособленноеПодразделение"),
            ref("ГоловнаяОрганизация", "Catalog_Организации"),
        ), (_contact_info(),)),
        EntitySet("Catalog_Валюты", CATALOG, (
            *catalog_head("Catalog_Валюты", code=True), b("ЗагружаетсяИзИнтернета"), s("НаименованиеПолное"),
            n("Наценка"), ref("ОсновнаяВалюта", "Catalog_Валюты"), s("ПараметрыПрописи"), s("ФормулаРасчетаКурса"),
            enum("СпособУстановкиКурса", "СпособыУстановкиКурсаВалюты"), s("Б_Идентификатор"), s("Б_НомерВерсии"),
        ), (Table("Представления", (s("КодЯзыка"), s("ПараметрыПрописи"))),), code_length=3),
        EntitySet("Catalog_Номенклатура", CATALOG, (
            *catalog_head("Catalog_Номенклатура", code=True, hierarchy="groups"), s("НаименованиеПолное"),
            s("Артикул"), ref("ЕдиницаИзмерения", "Catalog_УпаковкиЕдиницыИзмерения"),
            ref("ВидНоменклатуры", "Catalog_ВидыНоменклатуры"), ref("СтавкаНДС", "Catalog_СтавкиНДС"),
            enum("ТипНоменклатуры", "ТипыНоменклатуры"), ref("ФайлКартинки", "Catalog_НоменклатураПрисоединенныеФайлы"),
            s("Описание"),
        ), (_extra_attrs(),), open_type=True, code_length=11, code_prefix="00-"),
        EntitySet("Catalog_СтавкиНДС", CATALOG, (
            *catalog_head("Catalog_СтавкиНДС"), n("Ставка"), enum("ПеречислениеСтавкаНДС", "СтавкиНДС"),
        )),
        EntitySet("Catalog_СделкиСКлиентами", CATALOG, (
            *catalog_head("Catalog_СделкиСКлиентами", code=True), ref("Партнер", partners),
            ref("Соглашение", "Catalog_СоглашенияСКлиентами"), ref("ВидСделки", "Catalog_ВидыСделокСКлиентами"),
            enum("Статус", "СтатусыСделокСКлиентами"), b("Закрыта"),
            ref("ПричинаПроигрышаСделки", "Catalog_ПричиныПроигрышаСделок"),
            ref("Ответственный", "Catalog_Пользователи"),
            d("ДатаНачала"), d("ДатаЗавершения"), ref("Валюта", "Catalog_Валюты"), s("Комментарий"),
        ), (_extra_attrs(),), code_length=11, code_prefix="00-"),
    ]


def _documents(vat_enum: bool) -> list[EntitySet]:
    return [
        EntitySet("Document_ЗаказКлиента", DOCUMENT, (
            *document_head(), ref("Партнер", "Catalog_Партнеры"), ref("Контрагент", "Catalog_Контрагенты"),
            ref("Организация", "Catalog_Организации"), ref("Соглашение", "Catalog_СоглашенияСКлиентами"),
            ref("Договор", "Catalog_ДоговорыКонтрагентов"), ref("Валюта", "Catalog_Валюты"), n("СуммаДокумента"),
            ref("Склад", "Catalog_Склады"), b("ЦенаВключаетНДС"), enum("НалогообложениеНДС", "ТипыНалогообложенияНДС"),
            enum("Статус", "СтатусыЗаказовКлиентов"), b("Согласован"), d("ЖелаемаяДатаОтгрузки"), d("ДатаОтгрузки"),
            enum("ХозяйственнаяОперация", "ХозяйственныеОперации"), enum("ФормаОплаты", "ФормыОплаты"),
            enum("ПорядокРасчетов"), ref("Подразделение", "Catalog_СтруктураПредприятия"), s("Комментарий"),
            i64("МаксимальныйКодСтроки"), ref("Менеджер", "Catalog_Пользователи"),
            ref("Сделка", "Catalog_СделкиСКлиентами"), ref("КонтактноеЛицо", "Catalog_КонтактныеЛицаПартнеров"),
            ref("Автор", "Catalog_Пользователи"),
            *comp("ДокументОснование", "Document_CRM_Интерес", "Catalog_СделкиСКлиентами", "Document_ЗаказКлиента"),
        ), (_goods_row(vat_enum), _payment_schedule(), _extra_attrs()), open_type=True),
        EntitySet("Document_СчетНаОплатуКлиенту", DOCUMENT, (
            *document_head(), ref("Организация", "Catalog_Организации"), ref("Партнер", "Catalog_Партнеры"),
            ref("Контрагент", "Catalog_Контрагенты"), ref("Договор", "Catalog_ДоговорыКонтрагентов"),
            ref("Валюта", "Catalog_Валюты"), n("СуммаДокумента"), b("Аннулирован"),
            ref("БанковскийСчет", "Catalog_БанковскиеСчетаОрганизаций"), ref("Касса", "Catalog_Кассы"),
            ref("Менеджер", "Catalog_Пользователи"), ref("КонтактноеЛицо", "Catalog_КонтактныеЛицаПартнеров"),
            ref("Руководитель", "Catalog_ОтветственныеЛицаОрганизаций"),
            ref("ГлавныйБухгалтер", "Catalog_ОтветственныеЛицаОрганизаций"), enum("ФормаОплаты", "ФормыОплаты"),
            b("ЦенаВключаетНДС"), s("Комментарий"), ref("Автор", "Catalog_Пользователи"),
            *comp("ДокументОснование", "Document_ЗаказКлиента", "Document_РеализацияТоваровУслуг",
                  "Catalog_ДоговорыКонтрагентов"),
        ), (_payment_schedule(), _extra_attrs()), open_type=True),
        EntitySet("Document_CRM_Интерес", DOCUMENT, (
            *document_head(), ref("Партнер", "Catalog_Партнеры"),
            ref("КонтактноеЛицо", "Catalog_КонтактныеЛицаПартнеров"),
            ref("Ответственный", "Catalog_Пользователи"), ref("Организация", "Catalog_Организации"),
            ref("Состояние", "Catalog_CRM_СостоянияИнтересов"), ref("Сделка", "Catalog_СделкиСКлиентами"),
            s("Содержание"), s("Комментарий"), n("ПотенциальнаяСумма"), ref("Валюта", "Catalog_Валюты"),
        ), (_extra_attrs(),), open_type=True),
    ]


def ut115_schema(*, bp_counterparties: bool = False, vat_enum: bool = False) -> Schema:
    """The UT 11.5 model; the switches give the BP-style counterparty catalog and UT 11.4's VAT enum."""
    name = "ut115" + ("+bp" if bp_counterparties else "") + ("+vat_enum" if vat_enum else "")
    return Schema(name, [*_catalogs(bp_counterparties), *_documents(vat_enum)], ENUMS)
