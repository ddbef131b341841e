"""The bulk kernels decide exactly what the per-value functions would, or leave the value to them.

Each kernel is run over messy values (padding, Unicode spaces, capitals, non-ASCII, surrogates,
astral characters) in tiny chunks, so chunk boundaries and mixed ASCII / wide chunks are crossed;
the undecided values go through the per-value function, as normalization does, and the result
must equal the per-value function applied to every value, type included.
"""

from __future__ import annotations

import json
import random
import uuid

import numpy as np
import phonenumbers
import pytest

from b24sync.recon import bulk
from b24sync.recon import normalize as nz
from b24sync.recon.plan import _KEY_JSON, _key_json, _parse_e164

WS = [" ", "  ", "\t", "\n", "\u00a0", "\u2003", "\x1f", "\x1c", "\u3000", "\x85", "\x0b", "\u2028"]


@pytest.fixture(autouse=True)
def _small_chunks(monkeypatch):
    monkeypatch.setattr(bulk, "CHUNK", 61)


def _soup(rng: random.Random, chars, lo: int, hi: int) -> str:
    return "".join(rng.choice(chars) for _ in range(rng.randint(lo, hi)))


def _agree(kernel, fn, values: list) -> float:
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    got = bulk.fill_undecided(*kernel(arr), arr, fn)
    want = [fn(v) for v in values]
    wrong = [(v, g, w) for v, g, w in zip(values, got.tolist(), want, strict=True) if g != w or type(g) is not type(w)]
    assert not wrong, wrong[:5]
    return float(kernel(arr)[1].mean())


def test_whitespace_table_is_str_isspace():
    assert all(bool(bulk.SPACE[c]) == chr(c).isspace() for c in range(len(bulk.SPACE)))
    assert not any(chr(c).isspace() for c in range(0x3001, 0x110000))


def test_clean_text_agrees():
    rng = random.Random(1)
    values = [_soup(rng, ["a", "Я", " ", "«", "😀", "\ud800", *WS], 0, 9) for _ in range(3000)]
    values += ["", " ", "a b", "a  b", " a", "a ", "ООО «Ромашка 1»", "x\u3001y"]
    assert _agree(bulk.clean_text, nz._clean, values) > 0.1


def test_compact_and_lower_stripped_agree():
    rng = random.Random(2)
    assert _agree(bulk.compact, nz._compact_one, [_soup(rng, "0123456789ABZaz \tЯß\u00a0", 0, 12)
                                                 for _ in range(3000)]) > 0.05
    assert _agree(bulk.lower_stripped, lambda v: str(v).strip().lower(),
                  [_soup(rng, "abcDEF-09 \tЯİ", 0, 10) for _ in range(3000)]) > 0.05


def test_stamped_refs_agree():
    rng = random.Random(3)
    values = []
    for _ in range(3000):
        g = str(uuid.UUID(int=rng.getrandbits(128)))
        values.append(rng.choice([g, "counterparty:" + g, g.upper(), " " + g, "COUNTERPARTY:" + g, g[:-1] + "g",
                                  "00000000-0000-0000-0000-000000000000", "", g.replace("-", "_", 1),
                                  "counterparty:00000000-0000-0000-0000-000000000000", "мусор"]))
    assert _agree(bulk.stamped_refs, nz._ref_one, values) > 0.3


def test_ru_phones_agree():
    rng = random.Random(4)
    values = []
    for _ in range(1500):
        s = rng.choice(["", "+", "8", "7", "+7", "+8", "++"]) + _soup(rng, "0123456789", 9, 12)
        if rng.random() < 0.5:
            s = "".join(ch + rng.choice(["", "", " ", "-", "(", ")", ".", "\t", "/"]) for ch in s)
        if rng.random() < 0.1:
            s = rng.choice([" ", "\n", "\u00a0", "x"]) + s + rng.choice(["", " ", "доб. 12"])
        values.append(s)
    for code in ("495", "499", "812", "916", "930", "9300", "930005", "800", "808", "000", "301", "969"):
        values += [rng.choice(["8", "+7", "7", ""]) + code + _soup(rng, "0123456789", 10 - len(code), 10 - len(code))
                   for _ in range(40)]
    values += ["8-800-FLOWERS", "８４９５１２３４５６７", "+44 20 7946 0958", "+7 (495) 123-45-67"]
    assert _agree(lambda a: bulk.ru_phones(a, nz._ru_valid_bytes()), nz.normalize_phone, values) > 0.15


def test_dot_atom_emails_agree():
    rng = random.Random(5)
    values = []
    for _ in range(1500):
        local = _soup(rng, "abcXYZ09.._+-!#'`{|}~\"(),:;<>[]@ Я", 0, 10) if rng.random() < 0.3 \
            else _soup(rng, "abcXYZ09._+-", 1, 12)
        domain = rng.choice(["mail.ru", "Mail.RU", "x.test", "", "пример.рф", "xn--80ak6aa92e.com", "a..b", "-a.ru",
                             "localhost", "EXAMPLE.com", "x" * 70 + ".ru", "[1.2.3.4]"])
        s = local + "@" + domain if rng.random() < 0.9 else local
        values.append(rng.choice(["", " ", "y" * 60, "x" * 250]) + s if rng.random() < 0.1 else s)
    assert _agree(lambda a: bulk.dot_atom_emails(a, nz._domain), nz.normalize_email, values) > 0.3


def test_vectorized_columns_keep_per_unique_semantics():
    values = ["  a  b ", None, np.nan, 42, 4.5, "ok", "ok", "Ivan@Mail.RU", " 8 (495) 123-45-67", ""]
    for fn, one in ((nz.normalize_text, nz._clean), (nz.normalize_phones, nz.normalize_phone),
                    (nz.normalize_emails, nz.normalize_email)):
        got, want = fn(values).tolist(), nz.per_unique(values, one).tolist()
        assert got == want and [type(v) for v in got] == [type(v) for v in want]


def test_iso_seconds_as_numpy_writes_them():
    rng = np.random.default_rng(6)
    seconds = np.r_[rng.integers(-10**11, 3 * 10**11, 5000), 0, -1, 253402300799, 253402300800,
                    -62135596800, -62135596801].astype("datetime64[s]")
    seconds[3] = np.datetime64("NaT")
    want = np.where(~np.isnat(seconds), np.char.add(np.datetime_as_string(seconds, unit="s"), "+00:00"), "")
    assert nz._iso_seconds(seconds).tolist() == want.tolist()


def test_int_keys_as_text():
    ids = np.r_[0, 1, 9, 10, 99, 100, 10**18, 2**63 - 1, np.random.default_rng(7).integers(0, 10**12, 2000)]
    assert nz._int_keys("company:", ids.astype(np.int64)).tolist() == [f"company:{i}" for i in ids.tolist()]


def test_plan_sort_key_and_phone_parse_shortcuts():
    for key in ({"b24_key": "company:1", "onec_key": "counterparty:x"}, {"b24_key": None, "onec_key": 'q"\\ é\u2028'},
                {"onec_key": "a", "b24_key": "b"}, {"b24_key": "a", "x": 1}, {"b24_key": 1, "onec_key": "a"}):
        assert _key_json(key) == _KEY_JSON.encode(key) == json.dumps(key, sort_keys=True)
    rng = random.Random(8)
    for e164 in [f"+7{rng.randrange(10**9, 10**10)}" for _ in range(300)] + ["+74951234567", "+442079460958"]:
        assert _parse_e164(e164) == phonenumbers.parse(e164, None)

