"""Bulk string kernels for normalization: character tests over many values at once.

A million values cost a million Python calls when each is normalized on its own, and most
values need nothing: the name is already clean, the INN is already digits, the phone is a plain
Russian number. Here a chunk of values is joined into one string and viewed as a numpy array of
code points (one byte per character for ASCII and Latin-1, two for the rest of the basic plane,
four only when a chunk has characters beyond it), so a character test over the chunk is a handful
of array operations.

Every kernel decides only the values it can decide *exactly as the per-value function would*
and reports the others as undecided; the caller sends those through the per-value function
(:mod:`b24sync.recon.normalize`). The result is therefore always the per-value function's, only
cheaper; a unit test compares the two on messy input. Values that need no change are returned as
the very same ``str`` objects, so the canonical frame shares their memory with the input.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "CHUNK",
    "DIGIT",
    "SPACE",
    "Codes",
    "clean_text",
    "compact",
    "fixed_lines",
    "exact_str",
    "fill_undecided",
    "lower_stripped",
    "ru_phones",
    "dot_atom_emails",
    "stamped_refs",
]

#: Values per chunk: bounds the temporaries (a few bytes per character) whatever the input size, and keeps
#: the chunk's string objects in cache across the passes made over them (type, join, length, output).
CHUNK = 1 << 14

_TABLE = 1 << 16  # lookup tables cover the basic plane; code points beyond read the last entry (U+FFFF: False)


def _table(chars: bytes | list[int]) -> np.ndarray:
    table = np.zeros(_TABLE, dtype=bool)
    table[list(chars)] = True
    return table


#: ``str.isspace`` per code point (no code point beyond U+3000 is whitespace; a unit test checks).
SPACE = _table([c for c in range(0x3001) if chr(c).isspace()])
DIGIT = _table(b"0123456789")
_CAPITAL = _table(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_NON_ASCII = np.r_[np.zeros(128, dtype=bool), np.ones(_TABLE - 128, dtype=bool)]
_PHONE_PUNCT = _table(b" \t\n\r\x0b\x0c().-")  # the \s, (, ), ., - of the plain-phone grammar (ASCII)
_ATEXT = _table(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~-.")
_HEX_LOWER = _table(b"0123456789abcdef")
_GUID_DASH = np.isin(np.arange(36), (8, 13, 18, 23))
_EMPTY_GUID = "00000000-0000-0000-0000-000000000000"
_REF_PREFIX = "counterparty:"
_POWERS = 10 ** np.arange(9, -1, -1, dtype=np.int64)


def exact_str(values: np.ndarray) -> np.ndarray:
    """Mask of the values whose type is exactly ``str`` (subclasses and missing values excluded)."""
    types = set(map(type, values))
    if types == {str}:
        return np.ones(len(values), dtype=bool)
    if str not in types:
        return np.zeros(len(values), dtype=bool)
    return np.fromiter((type(v) is str for v in values), dtype=bool, count=len(values))


class Codes:
    """The characters of a list of strings as one array of code points, with each string's span."""

    __slots__ = ("codes", "filled", "lengths", "starts")

    def __init__(self, strings: Sequence[str]) -> None:
        self.codes = _code_points("".join(strings))
        self.lengths = np.fromiter(map(len, strings), dtype=np.int64, count=len(strings))
        self.starts = np.zeros(len(strings) + 1, dtype=np.int64)
        np.cumsum(self.lengths, out=self.starts[1:])
        self.filled = self.lengths > 0

    def lookup(self, table: np.ndarray) -> np.ndarray:
        """``table[code]`` per character; code points beyond the table read its last entry."""
        return _lookup(table, self.codes)

    def count(self, mask: np.ndarray) -> np.ndarray:
        """Per string, how many of its characters are set in ``mask`` (one entry per character)."""
        out = np.zeros(len(self.lengths), dtype=np.int64)
        if len(mask):  # empty strings are skipped: reduceat would read one character for them
            out[self.filled] = np.add.reduceat(mask.view(np.uint8), self.starts[:-1][self.filled], dtype=np.int64)
        return out

    def first(self) -> np.ndarray:
        """Per string, the code point of its first character (-1 when empty)."""
        out = np.full(len(self.lengths), -1, dtype=np.int64)
        out[self.filled] = self.codes[self.starts[:-1][self.filled]]
        return out

    def padded(self, spaces: np.ndarray | None = None) -> np.ndarray:
        """Per string: it starts or ends with whitespace (``s != s.strip()``)."""
        spaces = self.lookup(SPACE) if spaces is None else spaces
        filled = self.filled
        out = np.zeros(len(self.lengths), dtype=bool)
        out[filled] = spaces[self.starts[:-1][filled]] | spaces[self.starts[1:][filled] - 1]
        return out

    def block(self, rows: np.ndarray, width: int, skip: int = 0) -> np.ndarray:
        """The codes of ``rows`` (strings of at least ``skip + width`` characters) as a matrix."""
        return self.codes[self.starts[:-1][rows, None] + skip + np.arange(width)]


def _code_points(text: str) -> np.ndarray:
    """One array element per character of ``text``, in the narrowest unsigned type that holds them all."""
    if text.isascii():
        return np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    try:
        return np.frombuffer(text.encode("latin-1"), dtype=np.uint8)
    except UnicodeEncodeError:
        pass
    wide = text.encode("utf-16-le", "surrogatepass")  # a lone surrogate is a code point like any other
    if len(wide) == 2 * len(text):  # no pairs: one unit per character
        return np.frombuffer(wide, dtype=np.uint16)
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _lookup(table: np.ndarray, codes: np.ndarray) -> np.ndarray:
    if codes.dtype != np.uint32:
        return table[codes]
    return table[np.minimum(codes, len(table) - 1)]


Kernel = Callable[[list[str]], tuple[np.ndarray, np.ndarray]]


def _chunked(strings: np.ndarray, kernel: Kernel) -> tuple[np.ndarray, np.ndarray]:
    """Run ``kernel`` (strings → values, decided mask) chunk by chunk over an object array; values that
    are not exactly ``str`` are left undecided."""
    n = len(strings)
    values = np.empty(n, dtype=object)
    decided = np.zeros(n, dtype=bool)
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        part = strings[start:stop]
        strs = exact_str(part)
        if strs.all():
            values[start:stop], decided[start:stop] = kernel(part.tolist())
        elif strs.any():
            where = start + np.flatnonzero(strs)
            values[where], decided[where] = kernel(part[strs].tolist())
    return values, decided



def fill_undecided(values: np.ndarray, decided: np.ndarray, source: np.ndarray,
                   fn: Callable[[Any], Any], missing: Any = "") -> np.ndarray:
    """``values`` with each undecided position set to ``fn`` of its ``source`` (once per distinct value;
    missing values get ``missing``)."""
    rest = np.flatnonzero(~decided)
    if len(rest):
        codes, uniq = pd.factorize(source[rest])
        mapped = np.empty(len(uniq) + 1, dtype=object)
        mapped[:-1] = [fn(u) for u in uniq]
        mapped[-1] = missing
        values[rest] = mapped[codes]
    return values


def _unchanged(strings: np.ndarray, flagged: Callable[[Codes], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Each string as it is, decided unless ``flagged``."""
    def kernel(chunk: list[str]) -> tuple[np.ndarray, np.ndarray]:
        out = np.empty(len(chunk), dtype=object)
        out[:] = chunk
        return out, ~flagged(Codes(chunk))
    return _chunked(strings, kernel)


def _needs_cleaning(c: Codes) -> np.ndarray:
    spaces = c.lookup(SPACE)
    bad = spaces & (c.codes != 32)  # a tab, a newline, a no-break space …
    bad[1:] |= spaces[1:] & spaces[:-1]  # two in a row (across a boundary only when padded: flagged anyway)
    return (c.count(bad) > 0) | c.padded(spaces)


def clean_text(strings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``" ".join(s.split())``, decided where it is ``s`` itself: no whitespace but single inner spaces."""
    return _unchanged(strings, _needs_cleaning)


def compact(strings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``"".join(s.split()).upper()``, decided where it is ``s`` itself: ASCII digits and capitals only."""
    return _unchanged(strings, lambda c: c.count(~(c.lookup(DIGIT) | c.lookup(_CAPITAL))) > 0)


def lower_stripped(strings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``s.strip().lower()``, decided where it is ``s`` itself: ASCII without capitals, not padded."""
    return _unchanged(strings, lambda c: (c.count(c.lookup(_CAPITAL) | c.lookup(_NON_ASCII)) > 0) | c.padded())


def _guids(c: Codes, rows: np.ndarray, skip: int) -> np.ndarray:
    """Those of ``rows`` that hold a lower-case GUID at ``skip`` (36 characters)."""
    if not len(rows):
        return rows
    block = c.block(rows, 36, skip)
    hexes = _lookup(_HEX_LOWER, block)
    return rows[hexes[:, ~_GUID_DASH].all(axis=1) & (block[:, _GUID_DASH] == 45).all(axis=1)]


def stamped_refs(strings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A stored 1C reference → ``counterparty:<guid>`` (``""`` for none), as ``normalize._ref_one`` gives it.

    Decided: ``""``, a lower-case GUID, and ``counterparty:`` + a lower-case GUID; the empty GUID is no
    link. Anything else (capitals, padding, garbage) is left to the per-value function.
    """
    prefix = np.frombuffer(_REF_PREFIX.encode("ascii"), dtype=np.uint8)

    def kernel(chunk: list[str]) -> tuple[np.ndarray, np.ndarray]:
        c = Codes(chunk)
        items = np.empty(len(chunk), dtype=object)
        items[:] = chunk
        out = np.empty(len(chunk), dtype=object)
        decided = c.lengths == 0
        out[decided] = ""
        bare = _guids(c, np.flatnonzero(c.lengths == 36), 0)
        keyed = np.flatnonzero(c.lengths == 49)
        if len(keyed):
            keyed = _guids(c, keyed[(c.block(keyed, 13) == prefix).all(axis=1)], 13)
        out[bare] = _REF_PREFIX + items[bare]
        out[keyed] = items[keyed]  # already the key
        decided[bare] = decided[keyed] = True
        out[decided & ((items == _EMPTY_GUID) | (items == _REF_PREFIX + _EMPTY_GUID))] = ""
        return out, decided
    return _chunked(strings, kernel)


# --- phones ---------------------------------------------------------------------------------------
@cache
def _line_pattern(pattern: bytes) -> re.Pattern[bytes] | None:
    """``pattern`` for whole lines of a newline-joined buffer, when that means the same as ``fullmatch``
    of each line: only digits, digit classes, groups, repeats, lookaheads and ``$``, none of which can
    read a newline."""
    if set(pattern.replace(rb"\d", b"")) - set(b"0123456789[]-()?:=|{},$"):
        return None
    return re.compile(rb"(?m)^(?:" + pattern + rb")$")


def _valid_nationals(numbers: np.ndarray, pattern: re.Pattern[bytes]) -> np.ndarray:
    """Per 10-digit number (int64): does ``pattern`` fullmatch its digits."""
    lines = _line_pattern(pattern.pattern)
    if lines is None:
        return np.fromiter((pattern.fullmatch(d.encode("ascii")) is not None
                            for d in fixed_lines([(numbers, 10)])), dtype=bool, count=len(numbers))
    # every line the pattern matches whole is emptied: what is left of a line tells whether it matched
    left = np.frombuffer(lines.sub(b"", _digit_buffer((numbers, 10))), dtype=np.uint8)
    return np.diff(np.r_[-1, np.flatnonzero(left == 10)]) == 1


def fixed_lines(parts: Sequence[bytes | tuple[np.ndarray, int]]) -> list[str]:
    """One ``str`` per row, made of ``parts``: literal ASCII ``bytes``, or ``(values, width)``: non-negative
    integers written zero-padded to ``width`` digits. All rows are written into one buffer by integer
    arithmetic and cut by one ``split``: no Python call per row but the string's own creation."""
    return _digit_buffer(*parts).decode("ascii").split("\n")[:-1]


def _digit_buffer(*parts: bytes | tuple[np.ndarray, int]) -> bytes:
    """The newline-terminated rows of :func:`fixed_lines` as one buffer."""
    rows = next(len(p[0]) for p in parts if isinstance(p, tuple))
    widths = [len(p) if isinstance(p, bytes) else p[1] for p in parts]
    buffer = np.empty((rows, sum(widths) + 1), dtype=np.uint8)
    column = 0
    for part, width in zip(parts, widths, strict=True):
        if isinstance(part, bytes):
            buffer[:, column:column + width] = np.frombuffer(part, dtype=np.uint8)
        else:
            rest = part[0].astype(np.int64, copy=True)
            for k in range(column + width - 1, column - 1, -1):
                buffer[:, k] = rest % 10 + 48
                rest //= 10
        column += width
    buffer[:, -1] = 10
    return buffer.tobytes()


def ru_phones(strings: np.ndarray, pattern: re.Pattern[bytes]) -> tuple[np.ndarray, np.ndarray]:
    r"""Plain Russian phones → ``+7`` and the ten national digits, as ``normalize.normalize_phone``'s fast path.

    Decided: values that need no stripping, match ``\+?[\d\s().\-]+`` (ASCII), have ten digits (no
    ``+``) or eleven starting with 7 (or 8 without ``+``), and whose ten national digits ``pattern``
    (phonenumbers' RU patterns) accepts. Everything else is left to ``phonenumbers`` itself.
    """
    def kernel(chunk: list[str]) -> tuple[np.ndarray, np.ndarray]:
        c = Codes(chunk)
        n = len(chunk)
        out = np.empty(n, dtype=object)
        decided = np.zeros(n, dtype=bool)
        digit = c.lookup(DIGIT)
        plus = c.first() == 43
        allowed = digit | c.lookup(_PHONE_PUNCT)
        allowed[c.starts[:-1][plus]] = True  # the one leading "+"
        grammar = (c.count(~allowed) == 0) & (c.lengths > plus) & ~c.padded()
        count = c.count(digit)
        digits = (c.codes[digit] - 48).astype(np.int64)  # every digit of the chunk, in order
        first_digit = np.cumsum(count) - count
        nationals = np.zeros(n, dtype=np.int64)
        candidate = np.zeros(n, dtype=bool)
        for width in (10, 11):
            where = np.flatnonzero(grammar & (count == width) & (~plus if width == 10 else True))
            if not len(where):
                continue
            block = digits[first_digit[where, None] + np.arange(width)]
            if width == 11:  # the trunk digit: 7, or 8 written without "+"
                trunk = (block[:, 0] == 7) | ((block[:, 0] == 8) & ~plus[where])
                where, block = where[trunk], block[trunk, 1:]
            nationals[where] = block @ _POWERS
            candidate[where] = True
        if candidate.any():
            where = np.flatnonzero(candidate)
            uniq, inverse = np.unique(nationals[where], return_inverse=True)
            valid = _valid_nationals(uniq, pattern)
            text = np.empty(len(uniq), dtype=object)
            text[valid] = fixed_lines([b"+7", (uniq[valid], 10)])
            ok = valid[inverse]
            out[where[ok]] = text[inverse[ok]]
            decided[where[ok]] = True
        return out, decided
    return _chunked(strings, kernel)


# --- e-mails --------------------------------------------------------------------------------------
def dot_atom_emails(strings: np.ndarray, domain: Callable[[str], str]) -> tuple[np.ndarray, np.ndarray]:
    """ASCII addresses with one ``@`` and a dot-atom local part → lower case, the domain checked once.

    As ``normalize.normalize_email``'s fast path: the local part (1‥64 characters; the whole at most
    254) is checked by the dot-atom grammar, the domain by ``domain`` (``email-validator``, cached per
    distinct domain). Padded, non-ASCII or other shapes are left to the per-value function.
    """
    def kernel(chunk: list[str]) -> tuple[np.ndarray, np.ndarray]:
        c = Codes(chunk)
        n = len(chunk)
        out = np.empty(n, dtype=object)
        decided = np.zeros(n, dtype=bool)
        at = c.codes == 64
        shaped = (c.count(at) == 1) & ~c.padded() & (c.lengths <= 254) & (c.count(c.lookup(_NON_ASCII)) == 0)
        hits = np.flatnonzero(at)
        owner = np.searchsorted(c.starts, hits, side="right") - 1
        mine = shaped[owner]
        at_pos = c.starts[:-1].copy()  # strings not shaped get an empty local part
        at_pos[owner[mine]] = hits[mine]
        local_len = at_pos - c.starts[:-1]
        filled = local_len > 0
        # the local parts as a mask: +1 where one begins, -1 at its "@", summed up
        marks = np.zeros(len(c.codes), dtype=np.int8)
        marks[c.starts[:-1][filled]] = 1
        marks[at_pos[filled]] = -1
        local = np.cumsum(marks, dtype=np.int8).view(bool)
        dot = c.codes == 46
        bad = local & ~c.lookup(_ATEXT)
        bad[1:] |= local[1:] & local[:-1] & dot[1:] & dot[:-1]  # ".."
        edge_dot = np.zeros(n, dtype=bool)
        edge_dot[filled] = dot[c.starts[:-1][filled]] | dot[at_pos[filled] - 1]
        shaped &= filled & (local_len <= 64) & (c.count(bad) == 0) & ~edge_dot
        rows = np.flatnonzero(shaped)
        if not len(rows):
            return out, decided
        items = np.empty(n, dtype=object)
        items[:] = chunk
        lowered = items[rows]
        upper = (c.count(c.lookup(_CAPITAL)) > 0)[rows]
        lowered[upper] = list(map(str.lower, lowered[upper].tolist()))
        cut = (local_len[rows] + 1).tolist()
        domains = list(map(str.__getitem__, lowered.tolist(), map(slice, cut, [None] * len(cut))))
        codes, uniq = pd.factorize(np.asarray(domains, dtype=object))
        checked = np.empty(len(uniq), dtype=object)
        checked[:] = [domain(d) for d in uniq]
        same = ((checked == np.asarray(uniq, dtype=object)) & (checked != ""))[codes]
        out[rows[same]] = lowered[same]
        other = np.flatnonzero(~same)
        out[rows[other]] = [f"{item[:k - 1]}@{dom}" if dom else "" for item, k, dom in
                            zip(lowered[other].tolist(), np.asarray(cut)[other].tolist(),
                                checked[codes[other]].tolist(), strict=True)]
        decided[rows] = True
        return out, decided
    return _chunked(strings, kernel)
