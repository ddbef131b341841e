"""Reusable "human input" noise: how managers really type phones, e-mails and company titles.

Both sandbox projections (Bitrix24 now, 1C next) take clean party data and pass it through these
functions, so the sync's normalizers are exercised on realistic variants whose canonical value is
known. Every function is deterministic given the ``numpy`` generator it is handed.
"""

from __future__ import annotations

import numpy as np

PHONE_TEMPLATES: tuple[str, ...] = (
    "+7 ({a}) {b}-{c}-{d}",
    "8{a}{b}{c}{d}",
    "8-{a}-{b}-{c}-{d}",
    "+7{a}{b}{c}{d}",
    "7 {a} {b} {c}{d}",
    "8 ({a}) {b} {c} {d}",
    "({a}) {b}-{c}-{d}",
    "+7 {a} {b}-{c}-{d}",
    "8({a}){b}{c}{d}",
    "+7-{a}-{b}-{c}-{d}",
)
"""Formats seen in CRM exports; all parse back (region RU) to the same E.164 number."""

_PHONE_WEIGHTS = np.array([0.22, 0.16, 0.12, 0.16, 0.06, 0.08, 0.05, 0.07, 0.04, 0.04])


def format_phone_messy(e164: str, rng: np.random.Generator) -> str:
    """One canonical ``+7`` plus ten digits number written the way a manager might have typed it."""
    return format_phones_messy([e164], rng)[0]


def format_phones_messy(e164s: list[str] | np.ndarray, rng: np.random.Generator) -> list[str]:
    """Vector form of :func:`format_phone_messy` (one generator call for the whole batch)."""
    styles = rng.choice(len(PHONE_TEMPLATES), size=len(e164s), p=_PHONE_WEIGHTS / _PHONE_WEIGHTS.sum())
    out = []
    for number, style in zip(e164s, styles.tolist(), strict=True):
        national = number[2:]
        out.append(PHONE_TEMPLATES[style].format(a=national[:3], b=national[3:6], c=national[6:8], d=national[8:]))
    return out


def _capitalize_parts(text: str) -> str:
    for sep in ".-_":
        text = sep.join(part[:1].upper() + part[1:] for part in text.split(sep))
    return text


def _email_style(email: str, style: int) -> str:
    local, _, domain = email.partition("@")
    if style == 1:
        return f"{_capitalize_parts(local)}@{domain}"
    if style == 2:
        host, _, tld = domain.rpartition(".")
        return f"{_capitalize_parts(local)}@{host[:1].upper()}{host[1:]}.{tld.upper()}"
    if style == 3:
        return email.upper()
    if style == 4:
        return f"{local}@{domain.upper()}"
    if style == 5:
        return email[:1].upper() + email[1:]
    return email


_EMAIL_WEIGHTS = np.array([0.62, 0.14, 0.08, 0.04, 0.05, 0.07])


def mix_case_email(email: str, rng: np.random.Generator, *, differ_from: str | None = None) -> str:
    """A canonical (lower-case) e-mail with the capitalisation people give it (``Ivan.Petrov@Mail.RU``).

    With ``differ_from`` the result is guaranteed to differ from that rendering in case only — used
    to plant two records sharing one address typed differently.
    """
    if differ_from is None:
        return _email_style(email, int(rng.choice(len(_EMAIL_WEIGHTS), p=_EMAIL_WEIGHTS)))
    for style in rng.permutation(np.arange(1, len(_EMAIL_WEIGHTS))).tolist():
        candidate = _email_style(email, style)
        if candidate != differ_from:
            return candidate
    return email if differ_from != email else email.swapcase()


def mix_case_emails(emails: list[str] | np.ndarray, rng: np.random.Generator) -> list[str]:
    """Vector form of :func:`mix_case_email`: most addresses stay lower-case, as in real CRMs."""
    styles = rng.choice(len(_EMAIL_WEIGHTS), size=len(emails), p=_EMAIL_WEIGHTS).tolist()
    return [e if s == 0 else _email_style(e, s) for e, s in zip(emails, styles, strict=True)]


_ORG_TITLE_TEMPLATES = ("{form} «{brand}»", '{form} "{brand}"', "{brand} {form}", "{brand}", "{form} {brand}")
_ORG_TITLE_WEIGHTS = np.array([0.45, 0.2, 0.12, 0.15, 0.08])
_IP_TITLE_TEMPLATES = ("ИП {last} {i}. {m}.", "ИП {last} {first} {middle}", "{last} {i}.{m}. ИП", "ИП {last}")
_IP_TITLE_WEIGHTS = np.array([0.45, 0.3, 0.1, 0.15])


def messy_org_titles(forms: np.ndarray, brands: np.ndarray, rng: np.random.Generator) -> list[str]:
    """Company titles as typed into a CRM card: quotes straight or angled, form before, after or absent."""
    styles = rng.choice(len(_ORG_TITLE_TEMPLATES), size=len(forms), p=_ORG_TITLE_WEIGHTS).tolist()
    return [_ORG_TITLE_TEMPLATES[s].format(form=f, brand=b) for f, b, s in zip(forms, brands, styles, strict=True)]


def messy_ip_titles(last: np.ndarray, first: np.ndarray, middle: np.ndarray, rng: np.random.Generator) -> list[str]:
    """Sole proprietors' titles: «ИП Иванов И. И.», «Иванов И.И. ИП», «ИП Иванов Иван Иванович»…"""
    styles = rng.choice(len(_IP_TITLE_TEMPLATES), size=len(last), p=_IP_TITLE_WEIGHTS).tolist()
    out = []
    for la, fi, mi, s in zip(last, first, middle, styles, strict=True):
        out.append(_IP_TITLE_TEMPLATES[s].format(last=la, first=fi, middle=mi, i=fi[:1], m=mi[:1]))
    return out
