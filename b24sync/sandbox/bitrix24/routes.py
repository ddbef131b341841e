"""Where a ``/rest/...`` URL points: an inbound webhook, an OAuth call, or nowhere.

The portal maps ``/rest/{user}/{code}/{method}`` to a webhook call and ``/rest/{method}`` to an
OAuth call (token in the ``auth`` parameter); any other shape under ``/rest/`` is taken as a method
name that cannot exist, which is why a webhook URL missing its user id answers "Method not found!".
The optional ``.json``/``.xml`` suffix picks the output format; method names are case-insensitive.
"""

from __future__ import annotations

import re

__all__ = ["Route"]

_WEBHOOK_PATH = re.compile(r"(\d+)/([^/]+)/([^/]+)\Z")


class Route:
    """A parsed path: ``kind`` is ``webhook``, ``oauth``, ``invalid`` (under ``/rest/``) or ``other``."""

    def __init__(self, path: str) -> None:
        self.kind = "other"
        self.user = self.code = ""
        self.method = ""
        self.transport = "json"
        if not path.startswith("/rest/"):
            return
        rest = path[len("/rest/") :]
        match = _WEBHOOK_PATH.match(rest)
        if match:
            self.kind, (self.user, self.code, method) = "webhook", match.groups()
        elif rest and "/" not in rest:
            self.kind, method = "oauth", rest
        else:
            self.kind, method = "invalid", rest
        method = method.lower()
        for suffix in (".json", ".xml"):
            if self.kind != "invalid" and method.endswith(suffix):
                method, self.transport = method[: -len(suffix)], suffix[1:]
        self.method = method
