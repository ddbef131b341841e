"""A faithful local emulator of a 1C:UT 11.5 publication: the standard OData interface and ``/hs/``.

``OneCStore`` is the infobase (usable directly by the HTTP-service code and the seed),
``OneCEmulator`` serves it over real HTTP on loopback. See contracts/onec.md §13 for the behaviour
reproduced.
"""

from .errors import ODataError
from .rules import BusinessRules, NoRules, UTRules, business_error
from .schema import Schema
from .server import OneCEmulator
from .store import OneCStore
from .ut115 import ut115_schema

__all__ = [
    "BusinessRules",
    "NoRules",
    "ODataError",
    "OneCEmulator",
    "OneCStore",
    "Schema",
    "UTRules",
    "business_error",
    "ut115_schema",
]
