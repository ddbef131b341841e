"""The client of the b24sync HTTP service against the 1C emulator's implementation of the contract."""

from __future__ import annotations

import random

import pytest

from b24sync.http.retry import RetryPolicy
from b24sync.sandbox.onec import OneCEmulator, OneCStore
from b24sync.sandbox.onec.hs import make_hs_app
from b24sync.sources.onec.service import ServiceClient, ServiceError
from tests.contract.onec_support import seed


@pytest.fixture
def service():
    store = OneCStore()
    refs = seed(store)
    with OneCEmulator(store, hs_app=make_hs_app(store)) as emu:
        retry = RetryPolicy(max_attempts=4, base=0.01, cap=0.02, jitter=0.0, sleep=lambda s: None,
                            rng=random.Random(1))
        yield ServiceClient(emu.hs_url, emu.user, emu.password, retry=retry), emu, store, refs


def test_version_and_idempotent_counterparty_upsert(service):
    client, emu, store, refs = service
    info = client.version()
    assert info["service"] == "b24sync" and info["contract_version"].startswith("1.")
    body = {"kind": "ЮрЛицо", "name": "ООО «Вектор»", "inn": "7736050003", "kpp": "773601001",
            "contact_info": {"phones": ["8 (495) 765-43-21"], "emails": ["Info@Vektor.RU"]}}
    first = client.put_counterparty("company-42", body)
    second = client.put_counterparty("company-42", body)
    assert first["created"] is True and second["created"] is False and second["changed"] is False
    ref = first["counterparty"]["ref"]
    assert second["counterparty"]["ref"] == ref
    assert len(store.query("Catalog_Контрагенты", lambda r: r["ИНН"] == "7736050003")) == 1
    assert client.get_counterparty("company-42")["counterparty"]["ref"] == ref
    assert client.get_counterparty("company-43") is None


def test_validation_errors_name_the_field(service):
    client, *_ = service
    with pytest.raises(ServiceError) as err:
        client.put_counterparty("company-7", {"kind": "ЮрЛицо", "name": "ООО «Ошибка»", "inn": "7736050004"})
    assert err.value.status == 422 and err.value.code == "validation_failed"
    assert "inn" in str(err.value)


def test_a_dropped_put_is_safely_repeated(service):
    client, emu, store, refs = service
    emu.faults.add("drop_after_commit", method="PUT")
    result = client.put_counterparty("contact-17", {"kind": "ФизЛицо", "name": "Смирнова Ольга Игоревна",
                                                    "contact_info": {"emails": ["olga@пример.рф"]}})
    assert result["counterparty"]["ref"]
    assert len(store.query("Catalog_Контрагенты", lambda r: r["Description"] == "Смирнова Ольга Игоревна")) == 1
