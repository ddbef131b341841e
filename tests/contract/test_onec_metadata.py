"""Service document and $metadata of the 1C emulator, checked against the real UT 11.5 EDMX excerpt."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from b24sync.sandbox.onec import OneCEmulator

from .onec_support import jget, odata_error, session

SAMPLES = Path("/work/shared/contracts/onec-samples")
EDM = "{http://schemas.microsoft.com/ado/2009/11/edm}"
EDMX = "{http://schemas.microsoft.com/ado/2007/06/edmx}"
M = "{http://schemas.microsoft.com/ado/2007/08/dataservices/metadata}"


def _types(root: ET.Element, tag: str, name: str) -> list[tuple[str, str]]:
    node = root.find(f".//{EDM}{tag}[@Name='{name}']")
    assert node is not None, name
    return [(p.get("Name"), p.get("Type")) for p in node.findall(f"{EDM}Property")]


def _navs(root: ET.Element, name: str) -> list[str]:
    node = root.find(f".//{EDM}EntityType[@Name='{name}']")
    assert node is not None
    return [p.get("Name") for p in node.findall(f"{EDM}NavigationProperty")]


@pytest.fixture(scope="module")
def emu():
    with OneCEmulator() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def metadata(emu):
    r = session(emu).get(emu.odata_url + "$metadata")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/xml")
    return ET.fromstring(r.content)


@pytest.fixture(scope="module")
def real():
    return ET.parse(SAMPLES / "ut115_metadata_excerpt.xml").getroot()


@pytest.mark.skipif(not SAMPLES.exists(), reason="contract samples not available")
def test_counterparty_properties_match_the_real_ut115_excerpt(metadata, real):
    for tag, name in [("EntityType", "Catalog_Контрагенты"),
                      ("EntityType", "Catalog_Контрагенты_КонтактнаяИнформация"),
                      ("ComplexType", "Catalog_Контрагенты_КонтактнаяИнформация_RowType"),
                      ("ComplexType", "Catalog_Контрагенты_ДополнительныеРеквизиты_RowType"),
                      ("EntityType", "Catalog_Валюты")]:
        assert _types(metadata, tag, name) == _types(real, tag, name), name
    emulated = metadata.find(f".//{EDM}EntityType[@Name='Catalog_Контрагенты']")
    names = {p.get("Name") for p in emulated.findall(f"{EDM}Property")}
    assert not names & {"Code", "Parent_Key", "IsFolder"}  # UT counterparties: no codes, no hierarchy
    nullable = {p.get("Name"): p.get("Nullable") for p in emulated.findall(f"{EDM}Property")}
    assert nullable["Ref_Key"] == "false" and nullable["ИНН"] == "true"
    assert [k.get("Name") for k in emulated.findall(f"{EDM}Key/{EDM}PropertyRef")] == ["Ref_Key"]


def test_navigation_properties_exist_only_for_published_targets(real):
    # the real publication had no Catalog_Партнеры / Catalog_СтраныМира: only ГоловнойКонтрагент navigates
    published = {"Catalog_Контрагенты", "Catalog_Контрагенты_КонтактнаяИнформация", "Catalog_Валюты"}
    with OneCEmulator(published=published) as emu:
        root = ET.fromstring(session(emu).get(emu.odata_url + "$metadata").content)
    assert _navs(root, "Catalog_Контрагенты") == _navs(real, "Catalog_Контрагенты") == ["ГоловнойКонтрагент"]
    assert root.find(f".//{EDM}EntityType[@Name='Catalog_Партнеры']") is None


def test_edmx_envelope_container_enums_and_post_actions(metadata):
    assert metadata.tag == f"{EDMX}Edmx" and metadata.get("Version") == "1.0"
    services = metadata.find(f"{EDMX}DataServices")
    assert services.get(f"{M}DataServiceVersion") == "3.0" and services.get(f"{M}MaxDataServiceVersion") == "3.0"
    schema = services.find(f"{EDM}Schema")
    assert schema.get("Namespace") == "StandardODATA"
    container = schema.find(f"{EDM}EntityContainer")
    assert container.get("Name") == "EnterpriseV8" and container.get(f"{M}IsDefaultEntityContainer") == "true"
    sets = {e.get("Name") for e in container.findall(f"{EDM}EntitySet")}
    assert {"Catalog_Контрагенты", "Document_ЗаказКлиента_Товары", "Catalog_Контрагенты_КонтактнаяИнформация"} <= sets
    enum = schema.find(f"{EDM}EnumType[@Name='ЮрФизЛицо']")
    assert [m.get("Name") for m in enum] == ["ЮрЛицо", "ЮрЛицоНеРезидент", "ИндивидуальныйПредприниматель", "ФизЛицо"]
    assert all(m.get("Value") is None for m in schema.iter(f"{EDM}Member"))
    binding = "StandardODATA.Document_ЗаказКлиента"
    posts = [f for f in container.findall(f"{EDM}FunctionImport[@Name='Post']")
             if f.find(f"{EDM}Parameter[@Name='bindingParameter']").get("Type") == binding]
    assert len(posts) == 1 and posts[0].get("IsBindable") == "true" and posts[0].get("IsSideEffecting") == "true"
    assert posts[0].find(f"{EDM}Parameter[@Name='PostingModeOperational']").get("Type") == "Edm.Boolean"
    assert container.find(f"{EDM}FunctionImport[@Name='Unpost']") is not None
    assoc = schema.find(f"{EDM}Association[@Name='Document_ЗаказКлиента_Контрагент']")
    ends = {e.get("Role"): (e.get("Type"), e.get("Multiplicity")) for e in assoc}
    assert ends == {"Begin": ("StandardODATA.Document_ЗаказКлиента", "*"),
                    "End": ("StandardODATA.Catalog_Контрагенты", "0..1")}
    order = schema.find(f"{EDM}EntityType[@Name='Document_ЗаказКлиента']")
    assert order.get("OpenType") == "true"
    props = [p.get("Name") for p in order.findall(f"{EDM}Property")]
    assert props[-1] == "ДокументОснование_Type" and "ДокументОснование_Key" not in props  # composite: no _Key
    assert props[:6] == ["Ref_Key", "DataVersion", "Number", "Date", "DeletionMark", "Posted"]


def test_metadata_cannot_be_requested_as_json(emu):
    r = session(emu).get(emu.odata_url + "$metadata?$format=json")
    assert odata_error(r)[:2] == (415, "3")


def test_service_document_atom_by_default_and_json_on_request(emu):
    s = session(emu)
    r = s.get(emu.odata_url)
    assert r.status_code == 200 and "atomsvc+xml" in r.headers["Content-Type"]
    root = ET.fromstring(r.content)
    app = "{http://www.w3.org/2007/app}"
    assert root.find(f"{app}workspace/{{http://www.w3.org/2005/Atom}}title").text == "Default"
    hrefs = [c.get("href") for c in root.iter(f"{app}collection")]
    assert "Catalog_Контрагенты_КонтактнаяИнформация" in hrefs
    doc = jget(s, emu.odata_url.rstrip("/"))  # root without the trailing slash is tolerated
    assert doc["odata.metadata"].endswith("/odata/standard.odata")
    assert {"name": "Document_ЗаказКлиента", "url": "Document_ЗаказКлиента"} in doc["value"]
    assert all(item["name"] == item["url"] for item in doc["value"])
    assert "d" not in doc


def test_composition_hides_unpublished_sets():
    with OneCEmulator(published={"Catalog_Контрагенты"}) as emu:
        s = session(emu)
        names = [v["name"] for v in jget(s, emu.odata_url + "?$format=json")["value"]]
        assert names == ["Catalog_Контрагенты"]
        r = s.get(emu.odata_url + "Catalog_Партнеры?$format=json")
        assert odata_error(r) == (404, "8", '"Catalog_Партнеры" entity is not found')
    with OneCEmulator(published=set()) as emu:
        assert jget(session(emu), emu.odata_url + "?$format=json")["value"] == []


def test_unknown_set_and_unsupported_feature_codes(emu):
    s = session(emu)
    r = s.get(emu.odata_url + "CatalogДолжности?$format=json")
    assert odata_error(r) == (404, "8", '"CatalogДолжности" entity is not found')
    r = s.get(emu.odata_url + "Catalog_Контрагенты?$expan=Партнер&$format=json")
    assert odata_error(r) == (400, "0", "The $expan parameter is not supported")
    r = s.get(emu.odata_url + "InformationRegister_КурсыВалют/SliceLast()?$format=json")
    assert odata_error(r)[:2] == (404, "8")  # registers are not part of this publication
    r = s.post(emu.odata_url + "SelectChanges?MessageNo=1&$format=json", data=b"")
    assert odata_error(r)[:2] == (404, "11")
