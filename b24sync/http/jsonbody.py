"""Answer bodies parsed as JSON, fast.

A full read is mostly JSON: 100,000 Bitrix24 contacts arrive as about 40 MB of it, and the standard
library's parser spends more time on them than the portal takes to answer (measured in
``bench/perf.py``). ``orjson`` parses the same bytes several times faster. It is strict where
servers are not always: a body it refuses (a UTF-8 byte-order mark, which 1C's HTTP services may
send, a number beyond 64 bits, ``NaN``) is handed to the standard parser through ``requests``,
which decides as before — so the speed changes, the answers do not. The cycle collector is paused
while a body is parsed: JSON makes no cycles, and with a large read already in memory each
collection the new objects trigger would walk all of it.
"""

from __future__ import annotations

import gc
from typing import Any

import orjson
import requests


def response_json(response: requests.Response) -> Any:
    """``response.json()``, parsed by orjson when it can; ``ValueError`` when the body is not JSON."""
    enabled = gc.isenabled()
    gc.disable()  # a big body makes objects by the million: collecting cycles among them finds none
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.json()
    finally:
        if enabled:
            gc.enable()


__all__ = ["response_json"]
