"""The ``b24sync/v1`` HTTP service of the 1C emulator, over real HTTP on loopback.

Checks the contract of ``docs/onec-http-service.yaml`` end to end: Cyrillic Basic auth, upserts
that are idempotent on retries, structured 4xx errors naming the field, UT's own order totals, and
that what the service writes is what the OData interface then shows.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest
import requests

from b24sync.sandbox.onec import OneCEmulator, OneCStore
from b24sync.sandbox.onec.contactinfo import row_problems
from b24sync.sandbox.onec.hs import make_hs_app
from b24sync.sandbox.onec.hs_common import lock_object
from b24sync.sandbox.onec.seed import ORGANIZATIONS, load_onec
from b24sync.sandbox.seed import SeedSpec, generate_parties

ROOT = Path(__file__).resolve().parents[2]
USER, PASSWORD = "Обмен с Битрикс24", "пароль-№1"
ORG_INN = ORGANIZATIONS[0]["ИНН"]

ROMASHKA: dict[str, Any] = {
    "kind": "ЮрЛицо",
    "name": "ООО «Ромашка»",
    "full_name": "Общество с ограниченной ответственностью «Ромашка»",
    "inn": "7704123450",
    "kpp": "770401001",
    "manager": {"name": "Кузнецова Ольга Игоревна"},
    "contact_info": {
        "phones": ["8 (495) 123-45-67", "+7 916 765 43 21"],
        "emails": ["Info@Romashka.RU"],
        "legal_address": {"presentation": "119021, г. Москва, ул. Льва Толстого, д. 16", "postal_code": "119021",
                          "city": "Москва", "street": "ул. Льва Толстого", "house": "16"},
    },
}


def basic(user: str, password: str, encoding: str = "utf-8") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode(encoding)).decode("ascii")


@pytest.fixture
def emulator() -> Any:
    store = OneCStore()
    spec = SeedSpec.from_size(60)
    load_onec(store, generate_parties(spec, 5), spec, 5)
    with OneCEmulator(store, users={USER: PASSWORD}, hs_app=make_hs_app(store)) as emu:
        yield emu


@pytest.fixture
def http(emulator: OneCEmulator) -> Any:
    session = requests.Session()
    session.headers["Authorization"] = basic(USER, PASSWORD)
    yield session
    session.close()


def put(http: requests.Session, emulator: OneCEmulator, path: str, body: Any) -> requests.Response:
    return http.put(emulator.hs_url + path, json=body, timeout=10)


def odata(http: requests.Session, emulator: OneCEmulator, path: str) -> dict[str, Any]:
    response = http.get(emulator.odata_url + path, params={"$format": "json"}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def error_of(response: requests.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    return response.json()["error"]


# -- service and auth -----------------------------------------------------------------------------


def test_version_names_contract_and_configuration(http: requests.Session, emulator: OneCEmulator) -> None:
    body = http.get(emulator.hs_url + "version", timeout=10).json()
    assert body["service"] == "b24sync" and body["contract_version"].startswith("1.")
    assert body["configuration"]["name"] == "УправлениеТорговлей"
    assert body["features"] == ["counterparties", "orders", "leads"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", body["server_time"])


def test_basic_auth_is_utf8_with_a_cyrillic_user(emulator: OneCEmulator) -> None:
    url = emulator.hs_url + "version"
    assert requests.get(url, timeout=10).status_code == 401
    assert requests.get(url, headers={"Authorization": basic(USER, "wrong")}, timeout=10).status_code == 401
    assert requests.get(url, headers={"Authorization": basic(USER, PASSWORD, "cp1251")}, timeout=10).status_code == 401
    assert requests.get(url, headers={"Authorization": basic(USER, PASSWORD)}, timeout=10).status_code == 200


# -- counterparties -------------------------------------------------------------------------------


def test_upsert_creates_counterparty_with_partner_and_bsp_contact_info(
    http: requests.Session, emulator: OneCEmulator
) -> None:
    response = put(http, emulator, "counterparties/company-42", ROMASHKA)
    assert response.status_code == 201, response.text
    assert response.headers["Location"].endswith("/hs/b24sync/v1/counterparties/company-42")
    body = response.json()
    cp, partner = body["counterparty"], body["partner"]
    assert body["created"] and partner["created"] and partner["name"] == "Ромашка"
    assert [p["presentation"] for p in cp["contact_info"]["phones"]] == ["+7 (495) 123-45-67", "+7 (916) 765-43-21"]
    assert cp["contact_info"]["emails"] == [{"presentation": "info@romashka.ru", "kind": "EmailКонтрагента"}]

    # what OData shows is what the service wrote: the same refs, version and BSP-consistent rows
    record = odata(http, emulator, f"Catalog_Контрагенты(guid'{cp['ref']}')")
    assert record["DataVersion"] == cp["data_version"] and record["Партнер_Key"] == partner["ref"]
    assert record["ИНН"] == "7704123450" and record["ЮридическоеФизическоеЛицо"] == "ЮридическоеЛицо"
    rows = record["КонтактнаяИнформация"]
    assert [r["Тип"] for r in rows] == ["Адрес", "Телефон", "Телефон", "АдресЭлектроннойПочты"]
    assert all(row_problems(r) == [] for r in rows)
    assert rows[1]["НомерТелефона"] == "+74951234567" and rows[3]["АдресЭП"] == "info@romashka.ru"
    partner_record = odata(http, emulator, f"Catalog_Партнеры(guid'{partner['ref']}')")
    assert partner_record["ЮрФизЛицо"] == "Компания"
    assert partner_record["ОсновнойМенеджер_Key"] == partner["manager_ref"]
    assert http.get(emulator.hs_url + "counterparties/company-42", timeout=10).json()["counterparty"] == cp


def test_same_put_twice_is_one_object_and_no_write(http: requests.Session, emulator: OneCEmulator) -> None:
    first = put(http, emulator, "counterparties/company-42", ROMASHKA).json()
    second = put(http, emulator, "counterparties/company-42", ROMASHKA)
    assert second.status_code == 200
    assert second.json()["changed"] is False
    assert second.json()["counterparty"]["ref"] == first["counterparty"]["ref"]
    assert second.json()["counterparty"]["data_version"] == first["counterparty"]["data_version"]
    found = odata(http, emulator, "Catalog_Контрагенты?$filter=ИНН%20eq%20'7704123450'")["value"]
    assert len(found) == 1
    assert len(odata(http, emulator, "Catalog_Партнеры?$filter=Description%20eq%20'Ромашка'")["value"]) == 1


def test_update_replaces_only_the_kinds_sent_and_checks_data_version(
    http: requests.Session, emulator: OneCEmulator
) -> None:
    created = put(http, emulator, "counterparties/company-42", ROMASHKA).json()["counterparty"]
    stale = dict(ROMASHKA, contact_info={"emails": ["sales@romashka.ru"]}, expected_data_version="AAAAAAAAAAE=")
    error = error_of(put(http, emulator, "counterparties/company-42", stale), 412)
    assert error["code"] == "precondition_failed" and error["field"] == "expected_data_version"
    fresh = dict(stale, expected_data_version=created["data_version"])
    updated = put(http, emulator, "counterparties/company-42", fresh)
    assert updated.status_code == 200 and updated.json()["changed"] is True
    info = updated.json()["counterparty"]["contact_info"]
    assert [e["presentation"] for e in info["emails"]] == ["sales@romashka.ru"]
    assert len(info["phones"]) == 2 and info["legal_address"] is not None  # kinds not sent are kept
    assert updated.json()["counterparty"]["data_version"] != created["data_version"]


def test_validation_lists_every_problem_with_its_field(http: requests.Session, emulator: OneCEmulator) -> None:
    bad = {"kind": "ИндивидуальныйПредприниматель", "name": " ", "inn": "772598765472", "kpp": "770401001",
           "contact_info": {"emails": ["info@ромашка"], "phones": ["12-34"]}, "ogrn": "1"}
    error = error_of(put(http, emulator, "counterparties/company-7", bad), 422)
    assert error["code"] == "validation_failed"
    fields = {d["field"]: d["code"] for d in error["details"]}
    assert fields == {"ogrn": "unknown_property", "name": "required", "inn": "inn_checksum",
                      "kpp": "kpp_not_allowed", "contact_info.phones[0]": "invalid_format",
                      "contact_info.emails[0]": "invalid_format"}
    assert error["field"] == "ogrn" and "Неизвестное свойство" in error["message"]
    person = error_of(put(http, emulator, "counterparties/contact-3", dict(ROMASHKA)), 422)
    assert person["details"][0]["code"] == "key_kind_mismatch"


def test_existing_inn_is_a_conflict_until_linked_by_ref(http: requests.Session, emulator: OneCEmulator) -> None:
    original = next(r for r in emulator.store.records("Catalog_Контрагенты")
                    if r["ЮрФизЛицо"] == "ЮрЛицо" and not r["DeletionMark"] and not r["ОбособленноеПодразделение"])
    body = {"kind": "ЮрЛицо", "name": original["Description"], "inn": original["ИНН"], "kpp": original["КПП"]}
    error = error_of(put(http, emulator, "counterparties/company-5", body), 409)
    assert error["field"] == "inn" and original["Ref_Key"] in {d["ref"] for d in error["details"]}
    linked = put(http, emulator, "counterparties/company-5", dict(body, ref=original["Ref_Key"]))
    assert linked.status_code == 200 and linked.json()["counterparty"]["ref"] == original["Ref_Key"]
    assert linked.json()["partner"]["ref"] == original["Партнер_Key"]  # the existing partner is kept
    again = put(http, emulator, "counterparties/company-6", dict(body, ref=original["Ref_Key"]))
    assert error_of(again, 409)["details"][0]["code"] == "key_linked"


def test_locked_object_answers_423(http: requests.Session, emulator: OneCEmulator) -> None:
    ref = put(http, emulator, "counterparties/company-42", ROMASHKA).json()["counterparty"]["ref"]
    lock_object(emulator.store, ref, "Васильева Елена Сергеевна")
    changed = dict(ROMASHKA, comment="новый комментарий")
    error = error_of(put(http, emulator, "counterparties/company-42", changed), 423)
    assert error["code"] == "locked" and "Васильева" in error["message"]
    lock_object(emulator.store, ref, None)
    assert put(http, emulator, "counterparties/company-42", changed).status_code == 200


def test_malformed_requests(http: requests.Session, emulator: OneCEmulator) -> None:
    raw = http.put(emulator.hs_url + "counterparties/company-1", data=b"{not json", timeout=10)
    assert error_of(raw, 400)["code"] == "bad_request"
    assert error_of(http.get(emulator.hs_url + "counterparties/firma-1", timeout=10), 422)["field"] == "b24_key"
    assert error_of(http.get(emulator.hs_url + "counterparties/company-1", timeout=10), 404)["code"] == "not_found"
    assert http.delete(emulator.hs_url + "orders/1", timeout=10).status_code == 405


# -- orders ---------------------------------------------------------------------------------------


def order_body(**changes: Any) -> dict[str, Any]:
    body = {
        "counterparty": {"b24_key": "company-42"},
        "organization": {"inn": ORG_INN},
        "currency": "RUB",
        "manager": {"name": "Попов Дмитрий Андреевич"},
        "title": "Поставка: ноутбуки",
        "items": [
            {"nomenclature": {"article": "product-1"}, "quantity": 2, "price": 54990.0},
            {"nomenclature": {"name": "Доставка по Москве"}, "quantity": 1, "price": 700.0, "vat_percent": None},
            {"nomenclature": {"code": "00-00000007"}, "quantity": 3, "price": 3990.0, "discount_percent": 10},
        ],
        "amount": 121453.0,
    }
    body.update(changes)
    return body


def test_order_is_created_once_with_totals_recomputed(http: requests.Session, emulator: OneCEmulator) -> None:
    put(http, emulator, "counterparties/company-42", ROMASHKA)
    response = put(http, emulator, "orders/1234", order_body())
    assert response.status_code == 201, response.text
    order = response.json()["order"]
    assert order["number"].startswith("ТД00-") and order["status"] == "НеСогласован" and not order["posted"]
    assert [i["amount"] for i in order["items"]] == [109980.0, 700.0, 10773.0]
    assert order["amount"] == 121453.0 and order["currency"] == "643"
    assert [i["vat_percent"] for i in order["items"]] == [22.0, None, 22.0]
    assert order["vat_amount"] == round(round(109980 * 22 / 122, 2) + round(10773 * 22 / 122, 2), 2)

    again = put(http, emulator, "orders/1234", order_body())
    assert again.status_code == 200 and again.json()["changed"] is False
    assert again.json()["order"]["ref"] == order["ref"]
    assert again.json()["order"]["data_version"] == order["data_version"]
    seen = odata(http, emulator, f"Document_ЗаказКлиента(guid'{order['ref']}')")
    assert seen["СуммаДокумента"] == 121453.0 and seen["Контрагент_Key"] == order["counterparty_ref"]
    assert [r["КодСтроки"] for r in seen["Товары"]] == ["1", "2", "3"]
    listed = odata(http, emulator, "Document_ЗаказКлиента?$select=Ref_Key")["value"]
    assert [r["Ref_Key"] for r in listed] == [order["ref"]]


def test_order_refusals_name_the_field(http: requests.Session, emulator: OneCEmulator) -> None:
    missing = error_of(put(http, emulator, "orders/1", order_body()), 404)
    assert missing["field"] == "counterparty.b24_key"
    put(http, emulator, "counterparties/company-42", ROMASHKA)
    mismatch = error_of(put(http, emulator, "orders/1", order_body(amount=130000.0)), 422)
    assert mismatch["details"][0] == {"code": "amount_mismatch", "field": "amount",
                                      "message": "Сумма сделки 130 000,00 не совпадает с суммой строк 121 453,00."}
    items = order_body()["items"]
    items[1] = {"nomenclature": {"name": "Монитор 34\""}, "quantity": 1, "price": 1.0}
    unknown = error_of(put(http, emulator, "orders/1", order_body(items=items, amount=1.0)), 422)
    assert [d["field"] for d in unknown["details"]] == ["items[1].nomenclature", "amount"]
    assert unknown["message"] == "Строка 2: номенклатура «Монитор 34\"» не найдена."
    no_org = error_of(put(http, emulator, "orders/1", order_body(organization=None)), 422)
    assert no_org["field"] == "organization"
    assert error_of(http.get(emulator.hs_url + "orders/1", timeout=10), 404)["field"] == "deal_id"


def test_posting_and_posted_orders_are_not_rewritten(http: requests.Session, emulator: OneCEmulator) -> None:
    put(http, emulator, "counterparties/company-42", ROMASHKA)
    created = put(http, emulator, "orders/77", order_body(post=True)).json()
    assert created["order"]["posted"] is True and created["warnings"] == []
    changed = order_body(post=True, items=order_body()["items"][:1], amount=109980.0)
    error = error_of(put(http, emulator, "orders/77", changed), 409)
    assert error["details"][0]["code"] == "order_posted"

    ref = put(http, emulator, "orders/78", order_body()).json()["order"]["ref"]
    emulator.store.rules.post_failures[ref] = "Недостаточно товара «Ноутбук Irbis 15» на складе"  # type: ignore[attr-defined]
    failed = put(http, emulator, "orders/78", order_body(post=True)).json()
    assert failed["order"]["posted"] is False and failed["order"]["ref"] == ref
    assert failed["warnings"][0]["code"] == "posting_failed" and "Недостаточно" in failed["warnings"][0]["message"]


# -- leads ----------------------------------------------------------------------------------------


LEAD = {"title": "Заявка: Сервер стоечный 1U", "person": {"last_name": "Ёлкина", "first_name": "Мария"},
        "company_title": "ООО «Вектор-Юг»", "phones": ["+7 (918) 555-12-34"], "emails": ["m.yolkina@yandex.ru"],
        "manager": {"name": "Попов Дмитрий Андреевич"}, "amount": 289000.0, "source": "WEB"}


def test_lead_becomes_one_interest(http: requests.Session, emulator: OneCEmulator) -> None:
    created = put(http, emulator, "leads/501", LEAD)
    assert created.status_code == 201, created.text
    interest = created.json()["interest"]
    assert interest["title"] == LEAD["title"] and interest["amount"] == 289000.0 and not interest["closed"]
    assert put(http, emulator, "leads/501", LEAD).json()["changed"] is False
    assert http.get(emulator.hs_url + "leads/501", timeout=10).json()["interest"] == interest
    seen = odata(http, emulator, f"Document_CRM_Интерес(guid'{interest['ref']}')")
    assert "Ёлкина Мария" in seen["Содержание"] and "ООО «Вектор-Юг»" in seen["Содержание"]
    emulator.store.update("Document_CRM_Интерес", interest["ref"],
                          {"Сделка_Key": "5b0e3c1a-0000-4000-8000-000000000001"})
    closed = error_of(put(http, emulator, "leads/501", dict(LEAD, amount=1.0)), 409)
    assert closed["details"][0]["code"] == "interest_closed"
    assert error_of(put(http, emulator, "leads/502", {"person": {}}), 422)["field"] == "title"


# -- the published contract -----------------------------------------------------------------------


def contract_paths() -> dict[str, set[str]]:
    """Paths and methods of the OpenAPI document, read without a YAML parser (the suite may lack one)."""
    text = (ROOT / "docs" / "onec-http-service.yaml").read_text(encoding="utf-8")
    section = text.split("\npaths:\n", 1)[1].split("\ncomponents:\n", 1)[0]
    paths: dict[str, set[str]] = {}
    current = ""
    for line in section.splitlines():
        if m := re.match(r"^  (/[^:]+):$", line):
            current = m.group(1)
            paths[current] = set()
        elif m := re.match(r"^    (get|put|post|patch|delete):$", line):
            paths[current].add(m.group(1).upper())
    return paths


def test_every_contract_endpoint_is_served_and_has_a_reference_handler(
    http: requests.Session, emulator: OneCEmulator
) -> None:
    paths = contract_paths()
    assert set(paths) == {"/version", "/counterparties/{b24_key}", "/orders/{deal_id}", "/leads/{lead_id}"}
    module = (ROOT / "onec" / "b24sync" / "HTTPServices" / "b24sync" / "Ext" / "Module.bsl").read_text("utf-8")
    sample = {"b24_key": "company-999", "deal_id": "999", "lead_id": "999"}
    for path, methods in paths.items():
        url = emulator.hs_url + re.sub(r"\{(\w+)\}", lambda m: sample[m.group(1)], path).lstrip("/")
        for method in methods:
            status = http.request(method, url, json={} if method == "PUT" else None, timeout=10).status_code
            assert status not in (405, 500), (method, path, status)
            assert re.search(rf"Функция \w+{method}\(Запрос\) Экспорт", module), (method, path)
        assert f'"{path}"' in module, path  # the URL template is declared where the handlers are


def test_contract_document_parses_when_a_yaml_parser_is_installed() -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not a project dependency; the structural test above "
                                               "reads the paths without it")
    document = yaml.safe_load((ROOT / "docs" / "onec-http-service.yaml").read_text(encoding="utf-8"))
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == set(contract_paths())
    codes = document["components"]["schemas"]["ErrorCode"]["enum"]
    assert {"validation_failed", "not_found", "conflict", "precondition_failed", "locked", "internal"} <= set(codes)
