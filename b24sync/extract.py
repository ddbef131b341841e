"""Extract: snapshots of both systems as DataFrames, the first stage of reconciliation.

Only what reconciliation compares is read (``select``), at each API's floor cost: Bitrix24 by
keyset-chained batches, 1C by ``Ref_Key`` keyset pages. An incremental Bitrix24 read takes the
companies, contacts and requisites changed since the watermark minus an overlap (a requisite
edit does not touch its company's ``DATE_MODIFY``), then the requisites and addresses of every
company read; an incremental 1C read scans ``(Ref_Key, DataVersion)`` and fetches what differs.
The next Bitrix24 watermark is the portal's clock when the read began, not the newest
``DATE_MODIFY`` seen: a record changed while the read ran, after its entity was read, is stamped
earlier than changes read later, and a record stamped ahead of the clock (an import that set
``DATE_MODIFY``, a server clock set back) would otherwise hide every change until that moment.
The caller adds the counterparts of linked records, so each changed pair is compared whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from b24sync.sources.bitrix24.client import Bitrix24Client
from b24sync.sources.bitrix24.read import export_all, modified_since, portal_now
from b24sync.sources.onec.client import OneCClient

COMPANY_FIELDS = ["ID", "TITLE", "PHONE", "EMAIL", "ASSIGNED_BY_ID", "DATE_MODIFY", "ORIGINATOR_ID", "ORIGIN_ID",
                  "UF_CRM_1C_ID"]
CONTACT_FIELDS = ["ID", "NAME", "SECOND_NAME", "LAST_NAME", "PHONE", "EMAIL", "ASSIGNED_BY_ID", "DATE_MODIFY",
                  "ORIGINATOR_ID", "ORIGIN_ID", "UF_CRM_1C_ID", "COMPANY_ID"]
REQUISITE_FIELDS = ["ID", "ENTITY_TYPE_ID", "ENTITY_ID", "PRESET_ID", "RQ_INN", "RQ_KPP", "RQ_COMPANY_NAME",
                    "RQ_COMPANY_FULL_NAME", "SORT", "DATE_MODIFY"]
ADDRESS_FIELDS = ["TYPE_ID", "ENTITY_TYPE_ID", "ENTITY_ID", "ADDRESS_1", "ADDRESS_2", "CITY", "POSTAL_CODE",
                  "REGION", "PROVINCE", "COUNTRY"]
COUNTERPARTY_FIELDS = ["Ref_Key", "DataVersion", "DeletionMark", "Description", "НаименованиеПолное", "ИНН", "КПП",
                       "ЮрФизЛицо", "Партнер_Key", "КонтактнаяИнформация"]
COUNTERPARTIES = "Catalog_Контрагенты"
PARTNERS = "Catalog_Партнеры"
Progress = Callable[[str], Callable[[int], None] | None]
CHUNK = 500  # IDs per `@ID` filter: keeps batch command strings well under URL limits


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(rows)
    for name in columns:
        if name not in frame.columns:
            frame[name] = None
    return frame


@dataclass
class Bitrix24Snapshot:
    companies: pd.DataFrame
    contacts: pd.DataFrame
    requisites: pd.DataFrame
    addresses: pd.DataFrame
    users: pd.DataFrame
    newest: datetime | None = None  # the next watermark: the portal's clock when this read began
    full: bool = True


def _by_ids(client: Bitrix24Client, entity: str, field_name: str, ids: Iterable[int], select: list[str],
            extra: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    wanted = sorted({int(i) for i in ids})
    rows: list[dict[str, Any]] = []
    for start in range(0, len(wanted), CHUNK):
        filters = {f"@{field_name}": wanted[start:start + CHUNK], **(extra or {})}
        rows += export_all(client, entity, select=select, filters=filters)
    return rows


def extract_bitrix24(client: Bitrix24Client, *, since: datetime | None = None,
                     overlap: timedelta = timedelta(minutes=5), progress: Progress | None = None,
                     extra_company_ids: Iterable[int] = (), extra_contact_ids: Iterable[int] = ()) -> Bitrix24Snapshot:
    """Companies, contacts, their requisites and legal addresses, and users (full or since a watermark)."""
    def tick(name: str) -> Callable[[int], None] | None:
        return progress(name) if progress else None

    started = portal_now(client)
    if since is None:
        companies = export_all(client, "company", select=COMPANY_FIELDS, progress=tick("company"))
        contacts = export_all(client, "contact", select=CONTACT_FIELDS, progress=tick("contact"))
        requisites = export_all(client, "requisite", select=REQUISITE_FIELDS, progress=tick("requisite"))
        addresses = export_all(client, "address", select=ADDRESS_FIELDS, filters={"ENTITY_TYPE_ID": 8},
                               progress=tick("address"))
    else:
        companies = modified_since(client, "company", since, overlap=overlap, select=COMPANY_FIELDS)
        contacts = modified_since(client, "contact", since, overlap=overlap, select=CONTACT_FIELDS)
        changed_reqs = modified_since(client, "requisite", since, overlap=overlap, select=REQUISITE_FIELDS)
        company_ids = {int(r["ID"]) for r in companies} | {int(i) for i in extra_company_ids}
        contact_ids = {int(r["ID"]) for r in contacts} | {int(i) for i in extra_contact_ids}
        company_ids |= {int(r["ENTITY_ID"]) for r in changed_reqs if int(r["ENTITY_TYPE_ID"]) == 4}
        contact_ids |= {int(r["ENTITY_ID"]) for r in changed_reqs if int(r["ENTITY_TYPE_ID"]) == 3}
        have = {int(r["ID"]) for r in companies}
        companies += _by_ids(client, "company", "ID", company_ids - have, COMPANY_FIELDS)
        have = {int(r["ID"]) for r in contacts}
        contacts += _by_ids(client, "contact", "ID", contact_ids - have, CONTACT_FIELDS)
        requisites = _by_ids(client, "requisite", "ENTITY_ID", company_ids, REQUISITE_FIELDS, {"ENTITY_TYPE_ID": 4})
        addresses = _by_ids(client, "address", "ENTITY_ID", [r["ID"] for r in requisites], ADDRESS_FIELDS,
                            {"ENTITY_TYPE_ID": 8})
    users = export_all(client, "user")
    return Bitrix24Snapshot(
        companies=_frame(companies, COMPANY_FIELDS), contacts=_frame(contacts, CONTACT_FIELDS),
        requisites=_frame(requisites, REQUISITE_FIELDS), addresses=_frame(addresses, ADDRESS_FIELDS),
        users=_frame(users, ["ID", "EMAIL"]), newest=started, full=since is None)


@dataclass
class OneCSnapshot:
    counterparties: pd.DataFrame
    versions: dict[str, str]  # every Ref_Key → DataVersion of the set (for the next incremental read)
    manager_by_ref: dict[str, str] = field(default_factory=dict)
    user_email: dict[str, str] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)  # PredefinedDataName → Ref_Key
    gone: list[str] = field(default_factory=list)
    full: bool = True


def _email_of(user: Mapping[str, Any]) -> str:
    for row in user.get("КонтактнаяИнформация") or []:
        if row.get("Тип") == "АдресЭлектроннойПочты" and (row.get("АдресЭП") or row.get("Представление")):
            return str(row.get("АдресЭП") or row.get("Представление")).strip().lower()
    return ""


def extract_onec(client: OneCClient, *, known: Mapping[str, str] | None = None, extra_refs: Iterable[str] = (),
                 versions: Mapping[str, str] | None = None, progress: Progress | None = None) -> OneCSnapshot:
    """Counterparties (all, or only those changed since ``known`` plus ``extra_refs``) and reference data.

    ``versions`` is a scan already made by the caller (``client.scan_versions``), so it is not repeated.
    """
    tick = progress("counterparty") if progress else None
    if known is None:
        rows = [r for page in client.iterate(COUNTERPARTIES, select=COUNTERPARTY_FIELDS, progress=tick) for r in page]
        versions = {r["Ref_Key"]: r["DataVersion"] for r in rows}
        gone: list[str] = []
    else:
        versions = dict(versions) if versions is not None else client.scan_versions(COUNTERPARTIES)
        wanted = [ref for ref, dv in versions.items() if known.get(ref) != dv]
        wanted += sorted({ref for ref in extra_refs if ref in versions} - set(wanted))
        rows = client.fetch_many(COUNTERPARTIES, wanted, select=COUNTERPARTY_FIELDS, progress=tick)
        gone = [ref for ref in known if ref not in versions]
    # the managers of the counterparties read (through their partners): all partners on a full read,
    # only the partners of what changed on an incremental one — a run with nothing changed reads none
    partner_fields = ["Ref_Key", "ОсновнойМенеджер_Key"]
    if known is None:
        partner_rows = [r for page in client.iterate(PARTNERS, select=partner_fields) for r in page]
    else:
        refs = sorted({str(r["Партнер_Key"]) for r in rows if r.get("Партнер_Key")})
        partner_rows = client.fetch_many(PARTNERS, refs, select=partner_fields) if refs else []
    partners = {r["Ref_Key"]: r.get("ОсновнойМенеджер_Key") for r in partner_rows}
    users = [r for page in client.iterate("Catalog_Пользователи", select=["Ref_Key", "Description",
                                                                           "КонтактнаяИнформация"]) for r in page]
    kinds = {r["PredefinedDataName"]: r["Ref_Key"] for r in client.query(
        "Catalog_ВидыКонтактнойИнформации", filter="Predefined eq true", select=["Ref_Key", "PredefinedDataName"])}
    manager_by_ref = {r["Ref_Key"]: partners.get(r.get("Партнер_Key")) for r in rows}
    return OneCSnapshot(
        counterparties=_frame(rows, COUNTERPARTY_FIELDS), versions=versions,
        manager_by_ref={k: v for k, v in manager_by_ref.items() if v},
        user_email={u["Ref_Key"]: _email_of(u) for u in users}, kinds=kinds, gone=gone, full=known is None)
