"""Realistic server cost in the emulators: ``b24sync sandbox --realistic-latency``.

Off by default: the emulators answer as fast as Python allows. With a :class:`CostModel` each
emulator works out how long a real server would have worked on a request and

* answers that much later, multiplied by :attr:`CostModel.scale`: the HTTP layer waits in the
  server thread (``Response.delay``, an interruptible ``Event.wait``, never a busy loop), so
  concurrent requests overlap as they do on a real server;
* Bitrix24 only: reports the modelled time in the envelope's ``time`` (``processing``,
  ``finish``, ``duration``) and charges it to the per-method operating time, so a heavy method
  meets ``429 OPERATION_TIME_LIMIT`` as on a real portal. Time there is portal time: the scale
  shortens the waits, never the modelled seconds the portal accounts for.

The constants, one table (derivations and links: docs/performance.md, "Cost model of the
emulators"; *est.* = an estimate, not a published figure):

==============================  =========  =======================================================
constant                        value      charged
==============================  =========  =======================================================
``Bitrix24Costs.request``       0.029 s    per HTTP request that reaches a method (batch: once)
``Bitrix24Costs.command``       0.032 s    per method call, direct or one command of a batch
``Bitrix24Costs.list_page``     0.036 s    extra per page read by a list method (50 rows)
``Bitrix24Costs.count_row``     20.87 µs   per row of the table, when a list call counts ``total``
                                           (any ``start`` but ``-1``)
``OneCCosts.request``           0.050 s    per HTTP request after Basic auth (*est.*)
``OneCCosts.row``               0.5 ms     per row returned by a collection read (*est.*)
``OneCCosts.skip_row``          0.1 ms     per row read and discarded for ``$skip`` (*est.*)
``OneCCosts.count_row``         0.02 ms    per row counted by ``/$count`` or ``$inlinecount`` (*est.*)
==============================  =========  =======================================================

The Bitrix24 figures come from the two ``time`` examples of the official docs: the 2,387,743-lead
export page of ``settings/performance/huge-data.md`` (49.9 s with the count, 0.097 s with
``start=-1``) and the one of ``settings/performance/limits.md``.

:attr:`CostModel.scale` (``B24SYNC_LATENCY_SCALE`` in the environment, default 1) multiplies every
wait: 0.01 runs a modelled 49.9 s page in half a second, 0 models and reports without waiting.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

__all__ = [
    "SCALE_ENV",
    "Bitrix24Costs",
    "CostModel",
    "Listing",
    "OneCCosts",
    "metered",
    "note_list",
    "scale_from_env",
]

SCALE_ENV = "B24SYNC_LATENCY_SCALE"


@dataclass(frozen=True)
class Bitrix24Costs:
    """Seconds a cloud portal spends; see the module table."""

    request: float = 0.029  # huge-data.md, start=-1 page: duration 0.0979 - processing 0.0685
    command: float = 0.032  # limits.md example: processing 0.0323
    list_page: float = 0.036  # huge-data.md, start=-1 page: processing 0.0685 - command
    count_row: float = 49.8314 / 2_387_743  # huge-data.md: (49.8999 - 0.0685) s over 2,387,743 leads


@dataclass(frozen=True)
class OneCCosts:
    """Seconds a 1C:Enterprise publication spends; estimates, see the module table."""

    request: float = 0.050  # est.: web server extension + a reused 1C session
    row: float = 0.0005  # est.: read, rights check and serialise one row
    skip_row: float = 0.0001  # est.: the query language has no OFFSET, skipped rows are read
    count_row: float = 0.00002  # est.: COUNT over the filtered rows


@dataclass
class Listing:
    """What the list engine reported during one method call."""

    pages: int = 0
    counted_rows: int = 0


_current: ContextVar[Listing | None] = ContextVar("b24sync_sandbox_listing", default=None)


def note_list(table_rows: int, *, counted: bool) -> None:
    """Called by the Bitrix24 list engine for every page it reads; a no-op outside :func:`metered`.

    ``counted`` is true when the call also counts ``total`` (``start`` is not ``-1``), which on a
    real portal is a ``COUNT`` query over the table of ``table_rows`` rows.
    """
    listing = _current.get()
    if listing is not None:
        listing.pages += 1
        if counted:
            listing.counted_rows += table_rows


@contextmanager
def metered() -> Iterator[Listing]:
    """Collect :func:`note_list` reports of the code run inside (per thread: a context variable)."""
    listing = Listing()
    token = _current.set(listing)
    try:
        yield listing
    finally:
        _current.reset(token)


def scale_from_env(environ: Mapping[str, str] | None = None) -> float:
    """``B24SYNC_LATENCY_SCALE`` as a non-negative float (1.0 when unset)."""
    raw = (os.environ if environ is None else environ).get(SCALE_ENV, "").strip()
    if not raw:
        return 1.0
    value = float(raw)
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{SCALE_ENV} must be a finite number >= 0, not {raw!r}")
    return value


@dataclass
class CostModel:
    """Modelled server time for both emulators; ``scale`` multiplies only the real waits."""

    bitrix24: Bitrix24Costs = field(default_factory=Bitrix24Costs)
    onec: OneCCosts = field(default_factory=OneCCosts)
    scale: float = 1.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.scale) and self.scale >= 0):
            raise ValueError("scale must be a finite number >= 0")

    @classmethod
    def from_env(cls, scale: float | None = None, environ: Mapping[str, str] | None = None) -> CostModel:
        """Default constants; ``scale`` if given, else ``B24SYNC_LATENCY_SCALE``, else 1."""
        return cls(scale=scale_from_env(environ) if scale is None else scale)

    def wall(self, seconds: float) -> float:
        """Real seconds to wait for ``seconds`` of modelled server time."""
        return seconds * self.scale

    def describe(self) -> str:
        """The ``LATENCY=`` value printed by ``b24sync sandbox``."""
        return f"realistic x{self.scale:g}"

    # Bitrix24 ----------------------------------------------------------------------------------

    def b24_request(self) -> float:
        return self.bitrix24.request

    def b24_call(self, listing: Listing | None = None) -> float:
        """One method call: the fixed part, list pages, and the ``COUNT`` when it counted."""
        costs = self.bitrix24
        seconds = costs.command
        if listing is not None:
            seconds += listing.pages * costs.list_page + listing.counted_rows * costs.count_row
        return seconds

    # 1C ----------------------------------------------------------------------------------------

    def onec_request(self) -> float:
        return self.onec.request

    def onec_read(self, *, rows: int, skipped: int = 0, counted: int = 0) -> float:
        """A read: ``rows`` returned, ``skipped`` discarded for ``$skip``, ``counted`` for a count."""
        costs = self.onec
        return rows * costs.row + skipped * costs.skip_row + counted * costs.count_row
