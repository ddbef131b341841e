"""``scope``: the permissions of the calling webhook (scope ``basic``, any user may call it).

Without parameters it answers the webhook's own scopes, e.g. ``["crm", "user"]``; with
``full=true`` the complete list of the portal's permission codes (the table "Доступные скоупы
Битрикс24" of the official documentation).
"""

from __future__ import annotations

from typing import Any

from ..api import CallContext, MethodRegistry, MethodResult
from .store import Store
from .values import param

ALL_SCOPES = (
    "ai_admin", "biconnector", "bizproc", "booking", "calendar", "call", "cashbox", "catalog", "crm",
    "crm.documentgenerator", "delivery", "department", "disk", "documentgenerator", "entity", "im", "imbot",
    "imopenlines", "landing", "lists", "log", "mailservice", "messageservice", "pay_system", "pull", "rpa", "sale",
    "sign.b2e", "socialnetwork", "sonet_group", "task", "telephony", "timeman", "user", "user.userfield",
    "user_basic", "user_brief", "userconsent", "userfieldconfig", "vote",
)


def register(registry: MethodRegistry, store: Store) -> None:
    @registry.register("scope")
    def scope(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        if str(param(params, "full", "FULL", default="")).lower() in ("true", "1", "y"):
            return MethodResult(list(ALL_SCOPES))
        return MethodResult(sorted(ctx.scopes))
