"""The 1C projection of the party world: what a UT 11.5 base with 1C:CRM holds after two years.

Reference data first (the organisations that sell, currencies, VAT rates, the users who are the
Bitrix24 portal's employees, the nomenclature that is the portal's product catalog), then a
partner and a counterparty per party known to 1C, with contact information as BSP 3.x writes it
(:mod:`.contactinfo`), and the planted differences of :mod:`b24sync.sandbox.overlap`, each
recorded as a :class:`~b24sync.sandbox.seed_spec.Planted`::

    parties = assign_sides(generate_parties(spec, seed), spec, seed)
    records, planted = onec_seed(parties, spec, seed)     # [(entity_set, values)], [Planted]
    planted = load_onec(store, parties, spec, seed)       # the same, written into a OneCStore

Every ``Ref_Key`` is derived from the seed and the record's identity, so equal inputs give equal
records, and tests can name an object without a lookup. ``Planted.ids`` are 1-based positions of
counterparties in load order (as Bitrix24 IDs are positions); ``detail`` carries the Ref_Keys.
"""

from __future__ import annotations

import uuid
from typing import Any

import pandas as pd

from b24sync.sandbox import noise, ru_data
from b24sync.sandbox.bitrix24.methods.reference import PRODUCTS, USERS
from b24sync.sandbox.onec import contactinfo as ci
from b24sync.sandbox.onec.ut115 import CI_KIND_SET, predefined_ref
from b24sync.sandbox.overlap import (
    ADDRESS_DIFFERS,
    DELETION_MARKED,
    DUPLICATE_INN,
    KPP_DIFFERS,
    ONEC_KINDS,
    PHONE_DIFFERS,
    assign_sides,
)
from b24sync.sandbox.parties import INDIVIDUAL, LEGAL, SOLE_PROPRIETOR, gc_paused, stream
from b24sync.sandbox.seed_spec import Planted, SeedSpec

__all__ = ["CURRENCIES", "ORGANIZATIONS", "VAT_RATES", "load_onec", "onec_seed", "seed_ref"]

Record = tuple[str, dict[str, Any]]
_NS = uuid.UUID("0b6f1d0e-5c2a-4e8b-9a7c-b24a1c0de5ed")

ORGANIZATIONS: tuple[dict[str, str], ...] = (
    {"Description": "ТД Северный", "НаименованиеПолное": "Общество с ограниченной ответственностью «Торговый дом "
     "«Северный»", "НаименованиеСокращенное": "ООО «ТД «Северный»", "ИНН": "7718987650", "КПП": "771801001",
     "ОГРН": "1157746123458", "Префикс": "ТД", "ЮрФизЛицо": "ЮрЛицо"},
    {"Description": "Северный Сервис", "НаименованиеПолное": "Акционерное общество «Северный Сервис»",
     "НаименованиеСокращенное": "АО «Северный Сервис»", "ИНН": "5027123457", "КПП": "502701001",
     "ОГРН": "1125027004511", "Префикс": "СС", "ЮрФизЛицо": "ЮрЛицо"},
)  # fmt: skip
"""The companies that sell; two, so an order must name its organisation (as in most real bases)."""

CURRENCIES: tuple[tuple[str, str, str], ...] = (
    ("643", "руб.", "Российский рубль"),
    ("840", "USD", "Доллар США"),
    ("978", "EUR", "Евро"),
    ("156", "CNY", "Китайский юань"),
)
"""(Code = ISO numeric, Description, НаименованиеПолное), as UT's currency classifier fills them."""

VAT_RATES: tuple[tuple[str, float, str], ...] = (
    ("22%", 22.0, ""),
    ("20%", 20.0, "НДС20"),
    ("10%", 10.0, "НДС10"),
    ("0%", 0.0, "НДС0"),
    ("Без НДС", 0.0, "БезНДС"),
)
"""``Catalog_СтавкиНДС`` items: (Description, Ставка, ПеречислениеСтавкаНДС; 22 % has no 11.4 member)."""

_SERVICE_MEASURES = frozenset({"ч", "мес", "усл"})  # hours, months, services: not goods


def seed_ref(seed: int, kind: str, key: object) -> str:
    """The Ref_Key of a seeded object: stable for (seed, kind, key), distinct across them."""
    return str(uuid.uuid5(_NS, f"{seed}/{kind}/{key}"))


def load_onec(store: Any, parties: pd.DataFrame, spec: SeedSpec, seed: int = 0) -> list[Planted]:
    """Write :func:`onec_seed` into ``store`` (import mode, as an initial data load runs)."""
    records, planted = onec_seed(parties, spec, seed)
    with store.lock:
        for entity_set, values in records:
            store.create(entity_set, values, ref=values["Ref_Key"], load_mode=True)
    return planted


def onec_seed(parties: pd.DataFrame, spec: SeedSpec, seed: int = 0) -> tuple[list[Record], list[Planted]]:
    """Records to load (entity set, wire-shape values with ``Ref_Key``) and the differences planted.

    ``parties`` may come with or without the :func:`~b24sync.sandbox.overlap.assign_sides` columns.
    """
    if "onec_variant" not in parties.columns:
        parties = assign_sides(parties, spec, seed)
    with gc_paused():
        return _Builder(parties, spec, seed).build()


def _text(value: object) -> str:
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


class _Builder:
    """One projection: reference data, then partners and counterparties party by party."""

    def __init__(self, parties: pd.DataFrame, spec: SeedSpec, seed: int) -> None:
        self.spec = spec
        self.seed = seed
        self.parties = parties.reset_index(drop=True)
        self.records: list[Record] = []
        self.planted: list[Planted] = []
        self.positions: dict[str, int] = {}  # counterparty ref -> 1-based load position
        self.rng = stream(seed, "onec.parties")
        self.taken_phones = {p for lst in self.parties["phones"] for p in lst}

    def kind(self, name: str) -> str:
        return predefined_ref(CI_KIND_SET, name)

    def add(self, entity_set: str, values: dict[str, Any]) -> str:
        self.records.append((entity_set, values))
        if entity_set == "Catalog_Контрагенты":
            self.positions[values["Ref_Key"]] = len(self.positions) + 1
        return values["Ref_Key"]

    def build(self) -> tuple[list[Record], list[Planted]]:
        self._reference()
        onec = self.parties[self.parties["in_onec"].to_numpy(dtype=bool)]
        # heads before branches: a branch's counterparty points at its head's, and shares its partner
        order = onec["head_party_id"].notna().to_numpy().argsort(kind="stable")
        for row in onec.iloc[order].itertuples(index=False):
            self._party(row)
        return self.records, self.planted

    # -- reference data --

    def _reference(self) -> None:
        for i, org in enumerate(ORGANIZATIONS, start=1):
            values = {"Ref_Key": seed_ref(self.seed, "organization", i), **org}
            values["КонтактнаяИнформация"] = [
                ci.phone_row(self.kind("ТелефонОрганизации"), ci.PhoneParts("7", "495", str(2_000_000 + 1111 * i)))
            ]
            self.add("Catalog_Организации", values)
        rub = ""
        for code, name, full in CURRENCIES:
            ref = self.add("Catalog_Валюты", {"Ref_Key": seed_ref(self.seed, "currency", code), "Code": code,
                                              "Description": name, "НаименованиеПолное": full,
                                              "СпособУстановкиКурса": "РучнойВвод" if code == "643"
                                              else "ЗагрузкаИзИнтернета"})
            rub = rub or ref
        self.vat = {}
        for name, rate, member in VAT_RATES:
            self.vat[name] = self.add("Catalog_СтавкиНДС", {"Ref_Key": seed_ref(self.seed, "vat", name),
                                                            "Description": name, "Ставка": rate,
                                                            "ПеречислениеСтавкаНДС": member})
        self._users()
        for i, (name, _price, measure) in enumerate(PRODUCTS, start=1):
            service = measure in _SERVICE_MEASURES
            self.add("Catalog_Номенклатура", {
                "Ref_Key": seed_ref(self.seed, "nomenclature", i), "Code": f"00-{i:08d}",
                "Description": name, "НаименованиеПолное": name, "Артикул": f"product-{i}",
                "ТипНоменклатуры": "Услуга" if service else "Товар", "СтавкаНДС_Key": self.vat["22%"],
            })

    def _users(self) -> None:
        """The Bitrix24 portal's employees as 1C users: same full name, e-mail in contact information.

        The e-mail kind is an ordinary item: the emulated schema has no predefined
        ``EmailПользователя`` (BSP has one), and a seed cannot create predefined items.
        """
        group = self.add(CI_KIND_SET, {"Ref_Key": seed_ref(self.seed, "ci_kind", "users"), "Description":
                                       "Пользователи", "IsFolder": True, "Используется": True})
        email_kind = self.add(CI_KIND_SET, {"Ref_Key": seed_ref(self.seed, "ci_kind", "user_email"),
                                            "Description": "Email", "Parent_Key": group,
                                            "Тип": "АдресЭлектроннойПочты", "Используется": True})
        self.users = []
        for i, user in enumerate(USERS, start=1):
            name = f"{user['LAST_NAME']} {user['NAME']} {user['SECOND_NAME']}"
            self.users.append(self.add("Catalog_Пользователи", {
                "Ref_Key": seed_ref(self.seed, "user", i), "Description": name,
                "КонтактнаяИнформация": [ci.email_row(email_kind, user["EMAIL"])],
            }))
        self.add("Catalog_Пользователи", {"Ref_Key": seed_ref(self.seed, "user", "exchange"),
                                          "Description": "Обмен с Битрикс24", "Служебный": True})

    # -- parties --

    def _party(self, row: Any) -> None:
        variant = row.onec_variant
        partner_ref = self._partner_for(row)
        values = self._counterparty(row, partner_ref, seed_ref(self.seed, "counterparty", row.party_id))
        if variant == DELETION_MARKED:
            values["DeletionMark"] = True
        ref = self.add("Catalog_Контрагенты", values)
        self._plant(row, ref, values)

    def _partner_for(self, row: Any) -> str:
        if pd.notna(row.head_party_id):  # a branch belongs to its head office's partner
            return seed_ref(self.seed, "partner", int(row.head_party_id))
        return self._partner(row, seed_ref(self.seed, "partner", row.party_id))

    def _partner(self, row: Any, ref: str, *, suffix: str = "") -> str:
        person = row.kind == INDIVIDUAL
        working = _text(row.brand) if row.kind == LEGAL else _text(row.name)
        values: dict[str, Any] = {
            "Ref_Key": ref,
            "Description": working + suffix,
            "НаименованиеПолное": row.full_name,
            "ЮрФизЛицо": "ЧастноеЛицо" if person else "Компания",
            "Клиент": True,
            "ОсновнойМенеджер_Key": self.users[int(row.manager) - 1],
            "ДатаРегистрации": row.created_at.tz_localize(None).strftime("%Y-%m-%dT%H:%M:%S"),
            "КонтактнаяИнформация": self._ci_rows(row, "Партнера", list(row.phones), list(row.emails), None),
        }
        return self.add("Catalog_Партнеры", values)

    def _counterparty(self, row: Any, partner_ref: str, ref: str) -> dict[str, Any]:
        legal = row.kind == LEGAL
        kind = {LEGAL: "ЮрЛицо", SOLE_PROPRIETOR: "ИндивидуальныйПредприниматель", INDIVIDUAL: "ФизЛицо"}[row.kind]
        phones, kpp, address = list(row.phones), _text(row.kpp), self._address(row)
        variant = row.onec_variant
        history = []
        if variant == PHONE_DIFFERS:
            phones[0] = self._new_phone(phones[0])
        elif variant == ADDRESS_DIFFERS:
            address = self._moved(row)
        elif variant == KPP_DIFFERS:
            history = [{"Период": "2020-01-01T00:00:00", "КПП": kpp}]
            kpp = self._new_kpp(kpp)
            history.append({"Период": self.spec.as_of.strftime("%Y-01-01T00:00:00"), "КПП": kpp})
        values: dict[str, Any] = {
            "Ref_Key": ref,
            "Description": row.name,
            "НаименованиеПолное": row.full_name,
            "ЮрФизЛицо": kind,
            "ЮридическоеФизическоеЛицо": "ЮридическоеЛицо" if legal else "ФизическоеЛицо",
            "ИНН": _text(row.inn),
            "КПП": kpp if legal else "",
            "Партнер_Key": partner_ref,
            "КонтактнаяИнформация": self._ci_rows(row, "Контрагента", phones, list(row.emails), address),
            "ИсторияКПП": history,
        }
        if pd.notna(row.head_party_id):
            values["ОбособленноеПодразделение"] = True
            values["ГоловнойКонтрагент_Key"] = seed_ref(self.seed, "counterparty", int(row.head_party_id))
        return values

    def _ci_rows(
        self, row: Any, owner: str, phones: list[str], emails: list[str], address: dict[str, Any] | None
    ) -> list[dict[str, Any]]:
        """BSP rows; a fifth of the phones keep a presentation typed before BSP 3 (``8 (495) …``)."""
        rows = []
        if address is not None:
            kind = "ЮрАдресКонтрагента" if row.kind != INDIVIDUAL else "ФактАдресКонтрагента"
            rows.append(ci.address_row(self.kind(kind), address))
        legacy = self.rng.random(len(phones)) < 0.2
        typed = noise.format_phones_messy(phones, self.rng) if phones else []
        for phone, old, text in zip(phones, legacy.tolist(), typed, strict=True):
            parts = ci.parse_phone(phone)
            if parts is not None:
                rows.append(ci.phone_row(self.kind(f"Телефон{owner}"), parts, text if old else None))
        mixed = noise.mix_case_emails(emails, self.rng) if emails else []
        keep_case = self.rng.random(len(emails)) < 0.1
        for email, cased, keep in zip(emails, mixed, keep_case.tolist(), strict=True):
            rows.append(ci.email_row(self.kind(f"Email{owner}"), cased if keep else email))
        return rows

    def _address(self, row: Any) -> dict[str, Any]:
        return ci.address_value(
            presentation=f"{row.postal_code}, {row.address}", postal_code=row.postal_code, region=row.region,
            city=row.city, street=row.street, house=row.house, building=_text(row.building),
            apartment=_text(row.unit),
        )

    def _moved(self, row: Any) -> dict[str, Any]:
        """Another street and house in the same city: the office moved and only 1C was told."""
        streets = [s for s in ru_data.COMMON_STREETS if s != row.street]
        street = streets[int(self.rng.integers(0, len(streets)))]
        house = str(int(self.rng.integers(1, 120)))
        line = f"г. {row.city}, {street}, д. {house}"
        return ci.address_value(presentation=f"{row.postal_code}, {line}", postal_code=row.postal_code,
                                region=row.region, city=row.city, street=street, house=house)

    def _new_phone(self, old: str) -> str:
        while True:
            new = f"{old[:5]}{int(self.rng.integers(2_000_000, 10_000_000))}"
            if new not in self.taken_phones:
                self.taken_phones.add(new)
                return new

    def _new_kpp(self, old: str) -> str:
        """Re-registered with the neighbouring tax office of the same region: new 4-digit office code."""
        office = int(old[2:4])
        return f"{old[:2]}{office + 1 if office < 99 else office - 1:02d}{old[4:]}"

    # -- planted records --

    def _plant(self, row: Any, ref: str, values: dict[str, Any]) -> None:
        variant = row.onec_variant
        if variant not in ONEC_KINDS:
            return
        pos = self.positions[ref]
        detail: dict[str, Any] = {"party_id": int(row.party_id), "ref": ref, "in_bitrix24": bool(row.in_bitrix24)}
        ids: tuple[int, ...] = (pos,)
        if variant == PHONE_DIFFERS:
            detail.update(bitrix24=row.phones[0], onec=self._phone_of(values))
        elif variant == ADDRESS_DIFFERS:
            detail.update(bitrix24=row.address, onec=values["КонтактнаяИнформация"][0]["Представление"])
        elif variant == KPP_DIFFERS:
            detail.update(bitrix24=row.kpp, onec=values["КПП"])
        elif variant == DUPLICATE_INN:
            dup_ref = self._duplicate(row, values)
            ids = (pos, self.positions[dup_ref])
            detail.update(inn=values["ИНН"], kpp=values["КПП"], refs=(ref, dup_ref))
        self.planted.append(Planted(ONEC_KINDS[variant], "counterparty", ids, detail))

    def _phone_of(self, values: dict[str, Any]) -> str:
        return next(r["НомерТелефона"] for r in values["КонтактнаяИнформация"] if r["Тип"] == "Телефон")

    def _duplicate(self, row: Any, original: dict[str, Any]) -> str:
        """The same taxpayer entered again later under a new partner, its name typed differently."""
        partner = self._partner(row, seed_ref(self.seed, "partner_dup", row.party_id), suffix=" (2)")
        values = dict(original, Ref_Key=seed_ref(self.seed, "counterparty_dup", row.party_id))
        values["Партнер_Key"] = partner
        values["Description"] = str(row.name).replace("«", "").replace("»", "")
        values["КонтактнаяИнформация"] = [r for r in original["КонтактнаяИнформация"] if r["Тип"] != "Телефон"][:2]
        return self.add("Catalog_Контрагенты", values)
