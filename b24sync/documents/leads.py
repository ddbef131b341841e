"""Qualified leads → 1C:CRM interests (``Document_CRM_Интерес``), each exactly once.

A lead whose status is one of ``leads.qualified_statuses`` and that has no interest yet (in the
state, or by ``UF_CRM_1C_LEAD_ID`` on the lead) gets one, with its title, the person and company
it names, phones, e-mails, source, status, amount and the responsible manager when 1C has that
user. An interest is sales' record of a conversation: it is made once and then belongs to 1C, so
later edits of the lead are not written over it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from b24sync.config import LeadsConfig
from b24sync.documents.model import INTERESTS, LEAD_FIELD, DocContext, DocPlan, document_ref
from b24sync.documents.stages import Statuses
from b24sync.recon.model import Issue
from b24sync.recon.plan import make_operation
from b24sync.sources.bitrix24.read import export_all

LEAD_SELECT = ["ID", "TITLE", "NAME", "SECOND_NAME", "LAST_NAME", "COMPANY_TITLE", "STATUS_ID", "SOURCE_ID",
               "ASSIGNED_BY_ID", "OPPORTUNITY", "CURRENCY_ID", "COMMENTS", "COMPANY_ID", "CONTACT_ID", "PHONE",
               "EMAIL", "DATE_CREATE", "DATE_MODIFY", LEAD_FIELD]


def _values(items: Any) -> list[str]:
    return [str(i.get("VALUE") or "").strip() for i in items or [] if str(i.get("VALUE") or "").strip()]


def _is_guid(text: Any) -> bool:
    return [len(p) for p in str(text or "").split("-")] == [8, 4, 4, 4, 12]


def lead_payload(ctx: DocContext, lead: Mapping[str, Any], status_name: str, sources: Mapping[str, str],
                 ) -> dict[str, Any]:
    """The interest a lead becomes: everything the 1C user needs to call the customer back."""
    user = lead.get("ASSIGNED_BY_ID")
    email = ctx.b24_user_email.get(int(user)) if user else None
    party = (f"company:{lead['COMPANY_ID']}" if lead.get("COMPANY_ID")
             else f"contact:{lead['CONTACT_ID']}" if lead.get("CONTACT_ID") else "")
    counterparty = ctx.counterparty(party)[0] if party else None
    return {
        "lead_id": int(lead["ID"]),
        "title": str(lead.get("TITLE") or "").strip() or f"Лид №{lead['ID']}",
        "person": {"last_name": lead.get("LAST_NAME") or "", "first_name": lead.get("NAME") or "",
                   "middle_name": lead.get("SECOND_NAME") or ""},
        "company_title": str(lead.get("COMPANY_TITLE") or ""),
        "phones": _values(lead.get("PHONE")),
        "emails": _values(lead.get("EMAIL")),
        "source": sources.get(str(lead.get("SOURCE_ID") or ""), str(lead.get("SOURCE_ID") or "")),
        "status": status_name,
        "manager": ctx.onec_user_by_email.get(email or ""),
        "amount": float(lead.get("OPPORTUNITY") or 0),
        "currency": ctx.catalog.currency_ref(str(lead.get("CURRENCY_ID") or "RUB")),
        "currency_code": str(lead.get("CURRENCY_ID") or "RUB"),
        "comment": str(lead.get("COMMENTS") or ""),
        "counterparty": counterparty,
        "organization": ctx.catalog.organizations[0]["Ref_Key"] if len(ctx.catalog.organizations) == 1 else None,
    }


def plan_interests(ctx: DocContext, settings: LeadsConfig) -> DocPlan:
    out = DocPlan()
    dictionaries = ctx.statuses or Statuses(ctx.b24)
    statuses = dictionaries.lead_statuses(settings.qualified_statuses)
    sources = dictionaries.names("SOURCE")
    links = {row["b24_key"] for row in ctx.state.links() if row["entity"] == "lead"}
    leads = export_all(ctx.b24, "lead", select=LEAD_SELECT, filters={"@STATUS_ID": sorted(statuses)})
    leads = [lead for lead in leads if f"lead:{lead['ID']}" not in links]
    out.checked = len(leads)
    stamped = {str(lead[LEAD_FIELD]).lower() for lead in leads if _is_guid(lead.get(LEAD_FIELD))}
    found = {r["Ref_Key"] for r in ctx.onec.fetch_many(INTERESTS, sorted(stamped), select=["Ref_Key"])} \
        if stamped else set()
    for lead in leads:
        key = f"lead:{lead['ID']}"
        stamp = str(lead.get(LEAD_FIELD) or "").lower()
        if stamp in found:  # made by an earlier run whose state is gone: adopt it
            out.links.append((key, f"interest:{stamp}", "lead"))
            continue
        if stamp and not _is_guid(stamp):
            out.issues.append(Issue(key, LEAD_FIELD, stamp, "invalid_link"))
            continue
        payload = lead_payload(ctx, lead, statuses[str(lead["STATUS_ID"])], sources)
        if payload["currency"] is None:
            out.issues.append(Issue(key, "CURRENCY_ID", payload["currency_code"], "currency_not_in_onec"))
            continue
        planned = document_ref(key)
        fields = {"interest": {"before": None, "after": payload, "reason": "lead_qualified"},
                  LEAD_FIELD: {"before": lead.get(LEAD_FIELD) or None, "after": planned, "reason": "link"}}
        stamp_modified = lead["DATE_MODIFY"].isoformat() if lead.get("DATE_MODIFY") else ""
        out.operations.append(make_operation("create", "onec", "interest", planned,
                                         {"b24_key": key, "onec_key": f"interest:{planned}"}, fields,
                                         "lead_qualified", {"DATE_MODIFY": stamp_modified}))
    return out
