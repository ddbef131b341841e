"""The order a deal becomes: product mapping, prices, discounts, VAT and 1C's totals predicted."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from b24sync.config import DealsConfig
from b24sync.documents.catalog import OneCCatalog
from b24sync.documents.deals import OrderBuilder, order_signature, signature
from b24sync.documents.model import DocContext
from b24sync.documents.products import ProductMatcher

VAT22, VAT20, NO_VAT = "00000000-0000-0000-0000-000000000022", "00000000-0000-0000-0000-000000000020", \
    "00000000-0000-0000-0000-0000000000ff"
LAPTOP, CABLE, TWIN_A, TWIN_B = (f"10000000-0000-0000-0000-00000000000{i}" for i in range(1, 5))
ORG = "20000000-0000-0000-0000-000000000001"
RUB = "30000000-0000-0000-0000-000000000643"
USER = "40000000-0000-0000-0000-000000000001"
CUSTOMER = "50000000-0000-0000-0000-000000000001"


def catalog() -> OneCCatalog:
    item = {"IsFolder": False, "DeletionMark": False, "СтавкаНДС_Key": VAT22}
    return OneCCatalog(
        nomenclature={LAPTOP: {**item, "Ref_Key": LAPTOP, "Description": "Ноутбук Irbis 15", "Артикул": "NB-15",
                               "Code": "00-0001"},
                      CABLE: {**item, "Ref_Key": CABLE, "Description": "Кабель UTP 5e", "Артикул": "", "Code": "00-2"},
                      TWIN_A: {**item, "Ref_Key": TWIN_A, "Description": "Мышь", "Артикул": "", "Code": "00-3"},
                      TWIN_B: {**item, "Ref_Key": TWIN_B, "Description": "мышь ", "Артикул": "", "Code": "00-4"}},
        vat_percent={VAT22: 22.0, VAT20: 20.0, NO_VAT: None},
        organizations=[{"Ref_Key": ORG, "Description": "ТД Северный", "ИНН": "7718987650"}],
        currencies={"643": RUB})


def builder(**settings) -> OrderBuilder:
    cat = catalog()
    ctx = DocContext(b24=None, onec=None, state=None, catalog=cat, b24_user_email={2: "o.k@example.ru"},  # type: ignore[arg-type]
                     onec_user_by_email={"o.k@example.ru": USER},
                     counterparty=lambda key: (CUSTOMER, "") if key == "company:7" else (None, "counterparty_no_inn"),
                     now=datetime.now(UTC))
    products = [{"ID": 1, "NAME": "Ноутбук", "XML_ID": "NB-15"}, {"ID": 5, "NAME": "Кабель", "XML_ID": CABLE}]
    config = DealsConfig(**settings)
    matcher = ProductMatcher(cat, products, config.product_match, config.product_map, {})
    return OrderBuilder(ctx, config, matcher)


def row(product: int, name: str, price: str, qty: str, *, rate: str | None = None, included: bool = True,
        discount: str = "0") -> dict:
    price_d, rate_d, disc = Decimal(price), Decimal(rate) if rate else None, Decimal(discount)
    exclusive = price_d / (1 + rate_d / 100) if rate_d and included else price_d
    if rate_d and not included:
        exclusive = price_d
        price_d = exclusive * (1 + rate_d / 100)
    netto = exclusive / (1 - disc / 100)
    return {"PRODUCT_ID": product, "PRODUCT_NAME": name, "PRICE": price_d, "PRICE_EXCLUSIVE": exclusive,
            "PRICE_NETTO": netto, "PRICE_BRUTTO": netto * (1 + rate_d / 100) if rate_d else netto,
            "QUANTITY": Decimal(qty), "DISCOUNT_RATE": disc, "TAX_RATE": rate_d, "TAX_INCLUDED": included}


def deal(opportunity: str, **extra) -> dict:
    return {"ID": 31, "TITLE": "Поставка", "COMPANY_ID": 7, "ASSIGNED_BY_ID": 2, "CURRENCY_ID": "RUB",
            "OPPORTUNITY": Decimal(opportunity), **extra}


def test_prices_with_vat_and_a_discount_keep_bitrix24s_total():
    rows = [row(1, "Ноутбук Irbis 15", "49491", "2", discount="10"), row(5, "Кабель UTP 5e", "32.5", "305")]
    payload, issues = builder().build(deal(str(49491 * 2 + Decimal("32.5") * 305)), rows, pairs := {})
    assert issues == []
    laptop, cable = payload["items"]
    assert (laptop["nomenclature"], laptop["price"], laptop["discount_percent"], laptop["amount"]) == (
        LAPTOP, 54990, 10, 98982)
    assert (cable["nomenclature"], cable["vat_rate"], cable["vat_percent"]) == (CABLE, VAT22, 22)
    assert payload["amount"] == 108894.5 and payload["prices_include_vat"] is True
    assert payload["counterparty"] == CUSTOMER and payload["manager"] == USER and payload["organization"] == ORG
    assert pairs == {"product:1": (LAPTOP, "article"), "product:5": (CABLE, "ref")}


def test_prices_without_vat_get_1cs_vat_on_top():
    rows = [row(1, "Ноутбук", "1000", "3", rate="20", included=False)]
    payload, issues = builder().build(deal("3600"), rows, {})
    assert issues == [] and payload["prices_include_vat"] is False
    [item] = payload["items"]
    assert item["price"] == 1000 and item["vat_rate"] == VAT20 and payload["amount"] == 3600


def test_what_blocks_a_deal_is_listed_by_field():
    rows = [row(1, "Ноутбук", "1000", "1", rate="20", included=False), row(9, "Мышь", "500", "1", rate="18"),
            row(0, "Монтаж на объекте", "4500", "1")]
    payload, issues = builder().build(deal("1", COMPANY_ID=8, ASSIGNED_BY_ID=4), rows, {})
    assert payload is None
    assert {(i.field, i.reason) for i in issues} == {
        ("COMPANY_ID", "counterparty_no_inn"), ("ASSIGNED_BY_ID", "manager_not_in_onec"),
        ("PRODUCT_ROWS", "mixed_tax_included"), ("PRODUCT_ROWS[2]", "product_ambiguous"),
        ("PRODUCT_ROWS[3]", "product_not_in_onec")}
    assert all(i.record_key == "deal:31" for i in issues)


def test_a_total_1c_would_compute_differently_is_reported():
    _, issues = builder().build(deal("999"), [row(1, "Ноутбук", "1000", "1")], {})
    assert [(i.reason, i.value) for i in issues] == [("amount_mismatch", "999.00 ≠ 1000.00")]


def test_configured_maps_win_over_matching():
    b = builder(product_map={"9": TWIN_B}, manager_map={"4": USER}, product_match=("name",))
    payload, issues = b.build(deal("500", ASSIGNED_BY_ID=4), [row(9, "Мышь", "500", "1")], {})
    assert issues == [] and payload["items"][0]["nomenclature"] == TWIN_B and payload["manager"] == USER


def test_an_order_read_back_from_1c_has_the_same_signature():
    payload, _ = builder().build(deal("2000"), [row(1, "Ноутбук", "1000", "2")], {})
    order = {"СуммаДокумента": Decimal("2000"), "Товары": [
        {"Номенклатура_Key": LAPTOP, "Количество": Decimal("2"), "Цена": Decimal("1000"),
         "СуммаРучнойСкидки": Decimal("0")}]}
    assert signature(payload["items"], payload["amount"]) == order_signature(order)
    order["Товары"][0]["Количество"] = Decimal("3")
    assert signature(payload["items"], payload["amount"]) != order_signature(order)
