"""The migration report as one self-contained HTML file, for the screen and for paper.

It is meant to be mailed to a customer and opened anywhere, offline, years later: one file, no
scripts, no fonts, no images or styles from elsewhere; the charts are inline SVG drawn here.
Every value from either system is escaped (a company may well be called ``<script>…``), and the
portal links are built only from the configured portal and numeric IDs. Printing gets its own
rules: landscape A4, no navigation, table headers repeated on each page, rows never split.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from b24sync import __version__
from b24sync import messages as m
from b24sync.i18n import t
from b24sync.migrate.export import CSV_FILES
from b24sync.migrate.report import BASES, OUTCOMES, SCOPES, MigrationReport, Record
from b24sync.recon import model as md

__all__ = ["MAX_ROWS", "bar_chart", "render_html"]

MAX_ROWS = 5000  # per table; the CSV files always have everything
COLORS = {md.B24: "#2066b0", md.ONEC: "#d98e04", "both": "#7a5aa6", "pairs": "#3a8f5c"}

CSS = """
:root { --ink: #1d232b; --muted: #5b6573; --line: #d5dbe3; --band: #f3f6f9; --accent: #2066b0; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1180px; padding: 24px 28px 48px; color: var(--ink);
  font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 6px; padding-bottom: 4px; border-bottom: 2px solid var(--accent); }
h3 { font-size: 15px; margin: 18px 0 4px; }
p { margin: 4px 0 10px; }
.muted, .key { color: var(--muted); }
.key { font-size: 11px; word-break: break-all; }
.figures { font-size: 15px; }
nav ol { margin: 8px 0 0; padding-left: 22px; }
nav a, td a { color: var(--accent); }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 14px 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; min-width: 150px; }
.card b { display: block; font-size: 22px; }
.charts { display: flex; flex-wrap: wrap; gap: 18px 28px; }
.chart svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 14px; font-size: 13px; }
table.compact { width: auto; min-width: 420px; }
th, td { border: 1px solid var(--line); padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: var(--band); }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) td { background: #fafbfc; }
.group { border-left: 4px solid #c0392b; padding: 2px 0 2px 12px; margin: 14px 0; }
.yes { color: #2d7a46; font-weight: 600; }
.no { color: #b03a2e; font-weight: 600; }
footer { margin-top: 40px; font-size: 12px; color: var(--muted); }
@page { size: A4 landscape; margin: 12mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  nav { display: none; }
  a { color: inherit; text-decoration: none; }
  h2 { break-after: avoid; }
  tr, .group, .chart, .card { break-inside: avoid; }
  thead { display: table-header-group; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def _e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def _side(side: str) -> str:
    return t(m.MIGRATE_SIDES.get(side, side))


def _kind(kind: str) -> str:
    return t(m.MIGRATE_KINDS[kind]) if kind in m.MIGRATE_KINDS else kind


def _short(text: str, limit: int = 34) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bar_chart(chart_id: str, title: str, categories: Sequence[str],
              series: Sequence[tuple[str, Sequence[int], str]]) -> str:
    """A horizontal grouped bar chart as inline SVG: one group per category, one bar per series.

    ``series`` are ``(label, values, colour)``; values are drawn to one scale with the number at the
    end of each bar, so the chart reads without colour too (and prints in black and white).
    """
    label_w, bar_w, value_w = 230, 330, 60
    bar_h, gap, group_gap = 14, 3, 12
    width = label_w + bar_w + value_w
    legend_h = 22 if len(series) > 1 else 0
    top = 30 + legend_h
    group_h = len(series) * bar_h + (len(series) - 1) * gap
    height = top + len(categories) * (group_h + group_gap)
    peak = max([v for _, values, _ in series for v in values] + [1])
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" role="img" aria-labelledby="{_e(chart_id)}-t" font-size="12" '
           f'font-family="inherit">',
           f'<title id="{_e(chart_id)}-t">{_e(title)}</title>',
           f'<text x="0" y="18" font-size="14" font-weight="600" fill="#1d232b">{_e(title)}</text>']
    x = label_w
    for label, _, colour in series if legend_h else ():
        out.append(f'<rect x="{x}" y="28" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{x + 16}" y="38" fill="#1d232b">{_e(label)}</text>')
        x += 26 + 7 * len(label)
    for i, category in enumerate(categories):
        y0 = top + i * (group_h + group_gap)
        out.append(f'<text x="{label_w - 8}" y="{y0 + group_h / 2 + 4:.1f}" text-anchor="end" fill="#1d232b">'
                   f'<title>{_e(category)}</title>{_e(_short(category))}</text>')
        for j, (label, values, colour) in enumerate(series):
            y = y0 + j * (bar_h + gap)
            value = int(values[i])
            w = 0.0 if value == 0 else max(1.5, value / peak * bar_w)
            out.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour}">'
                       f'<title>{_e(label)}: {value}</title></rect>')
            out.append(f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h - 3}" fill="#1d232b">{value}</text>')
    out.append(f'<line x1="{label_w}" y1="{top - 4}" x2="{label_w}" y2="{height - group_gap + 4}" '
               f'stroke="#9aa4b1"/>')
    out.append("</svg>")
    return "".join(out)


def _charts(report: MigrationReport) -> str:
    sides = [(_side(s), s) for s in md.SIDES]
    outcome = bar_chart("chart-outcomes", t(m.MIGRATE_CHART_OUTCOMES), [t(m.MIGRATE_OUTCOMES[o]) for o in OUTCOMES],
                        [(label, [report.outcomes[s][o] for o in OUTCOMES], COLORS[s]) for label, s in sides])
    methods = report.method_counts
    method = bar_chart("chart-methods", t(m.MIGRATE_CHART_METHODS), [t(m.MIGRATE_METHODS[k]) for k in methods],
                       [(t(m.MIGRATE_SECTION_MATCHED), list(methods.values()), COLORS["pairs"])])
    kind = bar_chart("chart-kinds", t(m.MIGRATE_CHART_KINDS), [_kind(k) for k in md.KINDS],
                     [(label, [report.totals[s][k] for k in md.KINDS], COLORS[s]) for label, s in sides])
    dup = report.duplicate_counts()
    dups = bar_chart("chart-duplicates", t(m.MIGRATE_CHART_DUPLICATES), [t(m.MIGRATE_BASES[b]) for b in BASES],
                     [(_side(s), [dup[s][b] for b in BASES], COLORS[s]) for s in SCOPES])
    return '<div class="charts">' + "".join(f'<figure class="chart">{c}</figure>'
                                            for c in (outcome, method, kind, dups)) + "</div>"


def _name(r: Record) -> str:
    """The record's name, linked to its Bitrix24 card, with its key under it (so paper keeps the ID)."""
    name = _e(r.name) if r.found else f'<span class="muted">{_e(t(m.MIGRATE_NOT_FOUND))}</span>'
    if r.url:
        name = f'<a href="{_e(r.url)}">{name or _e(r.key)}</a>'
    key = r.key if r.side == md.B24 else r.record_id
    mark = f'<div class="key">{_e(t(m.MIGRATE_OUTCOMES["deletion_marked"]))}</div>' if r.deleted else ""
    return f'{name}<div class="key">{_e(key)}</div>{mark}'


def _list(values: Iterable[str]) -> str:
    return "<br>".join(_e(v) for v in values)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], *, numeric: Iterable[int] = (),
           total: int | None = None, csv_file: str = "", compact: bool = False) -> str:
    """A table of already-escaped cells (at most :data:`MAX_ROWS` rows, then a note naming the CSV file)."""
    if not rows:
        return f'<p class="muted">{_e(t(m.MIGRATE_EMPTY))}</p>'
    right = set(numeric)
    num = ' class="n"'
    head = "".join(f"<th{num if i in right else ''}>{_e(h)}</th>" for i, h in enumerate(header))
    body = []
    for row in rows[:MAX_ROWS]:
        cells = "".join(f"<td{num if i in right else ''}>{c}</td>" for i, c in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    note = ""
    count = total if total is not None else len(rows)
    if len(rows) > MAX_ROWS:
        note = f'<p class="muted">{_e(t(m.MIGRATE_TRUNCATED, shown=MAX_ROWS, total=count, file=csv_file))}</p>'
    css = ' class="compact"' if compact else ""
    return f'<table{css}><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>{note}'


def _summary(report: MigrationReport) -> str:
    s = report.summary()
    cards = [(t(m.MIGRATE_SECTION_MATCHED), s["pairs"]), (t(m.MIGRATE_SECTION_CONFLICTS), s["conflict_groups"]),
             (t(m.MIGRATE_SECTION_UNMATCHED_B24), s["unmatched"][md.B24]),
             (t(m.MIGRATE_SECTION_UNMATCHED_ONEC), s["unmatched"][md.ONEC]),
             (t(m.MIGRATE_SECTION_DUPLICATES), s["duplicate_groups"]),
             (t(m.MIGRATE_SECTION_INVALID_INN), len(report.invalid_inns))]
    html = ['<div class="cards">', *(f'<div class="card"><b>{v}</b>{_e(label)}</div>' for label, v in cards), "</div>"]
    rows = [[_e(t(m.MIGRATE_OUTCOMES[o])), str(report.outcomes[md.B24][o]), str(report.outcomes[md.ONEC][o])]
            for o in OUTCOMES]
    rows.append([f"<b>{_e(t(m.MIGRATE_COL_COUNT))}</b>", f"<b>{report.records.get(md.B24, 0)}</b>",
                 f"<b>{report.records.get(md.ONEC, 0)}</b>"])
    html.append(_table([t(m.MIGRATE_COL_OUTCOME), _side(md.B24), _side(md.ONEC)], rows, numeric=(1, 2),
                       compact=True))
    html.append(_charts(report))
    return "".join(html)


def _matched(report: MigrationReport) -> str:
    b24, onec = _side(md.B24), _side(md.ONEC)
    header = [t(m.MIGRATE_COL_METHOD), b24, t(m.MIGRATE_COL_INN) + " / " + t(m.MIGRATE_COL_KPP),
              t(m.MIGRATE_COL_EMAILS), onec, t(m.MIGRATE_COL_INN) + " / " + t(m.MIGRATE_COL_KPP),
              t(m.MIGRATE_COL_EMAILS)]
    rows = [[_e(t(m.MIGRATE_METHODS.get(p.method, p.method))), _name(p.b24), _inn(p.b24), _list(p.b24.emails),
             _name(p.onec), _inn(p.onec), _list(p.onec.emails)] for p in report.pairs]
    return _table(header, rows, csv_file=CSV_FILES["matched"])


def _inn(r: Record) -> str:
    return _e(r.inn) + (f'<div class="key">{_e(r.kpp)}</div>' if r.kpp else "")


def _record_table(records: Sequence[Record]) -> str:
    header = [t(m.MIGRATE_COL_SIDE), t(m.MIGRATE_COL_NAME), t(m.MIGRATE_COL_KIND), t(m.MIGRATE_COL_INN),
              t(m.MIGRATE_COL_KPP), t(m.MIGRATE_COL_EMAILS), t(m.MIGRATE_COL_PHONES)]
    rows = [[_e(_side(r.side)), _name(r), _e(_kind(r.kind)), _e(r.inn), _e(r.kpp), _list(r.emails), _list(r.phones)]
            for r in records]
    return _table(header, rows)


def _conflicts(report: MigrationReport) -> str:
    if not report.conflicts:
        return f'<p class="muted">{_e(t(m.MIGRATE_EMPTY))}</p>'
    out = []
    for n, group in enumerate(report.conflicts[:MAX_ROWS], start=1):
        kind = t(m.MIGRATE_CONFLICT_KINDS.get(group.kind, group.kind))
        out.append(f'<div class="group"><h3>{n}. {_e(kind)}</h3><p>{_e(group.message)}</p>'
                   f'{_record_table(group.records)}</div>')
    if len(report.conflicts) > MAX_ROWS:
        note = t(m.MIGRATE_TRUNCATED, shown=MAX_ROWS, total=len(report.conflicts), file=CSV_FILES["conflicts"])
        out.append(f'<p class="muted">{_e(note)}</p>')
    return "".join(out)


def _unmatched(report: MigrationReport, side: str) -> str:
    header = [t(m.MIGRATE_COL_NAME), t(m.MIGRATE_COL_KIND), t(m.MIGRATE_COL_INN), t(m.MIGRATE_COL_KPP),
              t(m.MIGRATE_COL_EMAILS), t(m.MIGRATE_COL_PHONES), t(m.MIGRATE_COL_CREATE)]
    rows = []
    for u in report.unmatched_on(side):
        r = u.record
        if u.creatable:
            verdict = f'<span class="yes">{_e(t(m.MIGRATE_YES))}</span>'
        else:
            why = t(m.MIGRATE_NOT_CREATED[u.reason]) if u.reason in m.MIGRATE_NOT_CREATED else u.reason
            verdict = f'<span class="no">{_e(t(m.MIGRATE_NO))}</span>: {_e(why)}'
        rows.append([_name(r), _e(_kind(r.kind)), _e(r.inn), _e(r.kpp), _list(r.emails), _list(r.phones), verdict])
    return _table(header, rows, csv_file=CSV_FILES[f"unmatched_{side}"])


def _duplicates(report: MigrationReport) -> str:
    header = [t(m.MIGRATE_COL_GROUP), t(m.MIGRATE_COL_SCOPE), t(m.MIGRATE_COL_BASIS), t(m.MIGRATE_COL_VALUE),
              t(m.MIGRATE_COL_SIDE), t(m.MIGRATE_COL_NAME), t(m.MIGRATE_COL_INN), t(m.MIGRATE_COL_EMAILS),
              t(m.MIGRATE_COL_PHONES)]
    rows = []
    for n, group in enumerate(report.duplicates, start=1):
        for r in group.records:
            rows.append([str(n), _e(_side(group.scope)), _e(t(m.MIGRATE_BASES[group.basis])), _e(group.value),
                         _e(_side(r.side)), _name(r), _inn(r), _list(r.emails), _list(r.phones)])
    return _table(header, rows, numeric=(0,), csv_file=CSV_FILES["duplicates"])


def _invalid(report: MigrationReport) -> str:
    header = [t(m.MIGRATE_COL_SIDE), t(m.MIGRATE_COL_NAME), t(m.MIGRATE_COL_KIND), t(m.MIGRATE_COL_INN),
              t(m.MIGRATE_COL_PROBLEM)]
    rows = [[_e(_side(i.record.side)), _name(i.record), _e(_kind(i.record.kind)), _e(i.record.inn),
             _e(t(m.MIGRATE_INN_PROBLEMS.get(i.problem, i.problem)))] for i in report.invalid_inns]
    return _table(header, rows, csv_file=CSV_FILES["invalid_inn"])


def _about(text: str) -> str:
    return f"<p>{_e(t(text))}</p>" if text else ""


def render_html(report: MigrationReport, *, version: str = __version__) -> str:
    """The whole report as one HTML document (UTF-8, no external resources)."""
    s = report.summary()
    when = report.generated_at.strftime("%Y-%m-%d %H:%M %Z").strip()
    sections = [
        ("summary", m.MIGRATE_SECTION_SUMMARY, "", _summary(report)),
        ("matched", m.MIGRATE_SECTION_MATCHED, m.MIGRATE_ABOUT_MATCHED, _matched(report)),
        ("ambiguous", m.MIGRATE_SECTION_CONFLICTS, m.MIGRATE_ABOUT_CONFLICTS, _conflicts(report)),
        ("only-bitrix24", m.MIGRATE_SECTION_UNMATCHED_B24, m.MIGRATE_ABOUT_UNMATCHED, _unmatched(report, md.B24)),
        ("only-1c", m.MIGRATE_SECTION_UNMATCHED_ONEC, m.MIGRATE_ABOUT_UNMATCHED, _unmatched(report, md.ONEC)),
        ("duplicates", m.MIGRATE_SECTION_DUPLICATES, m.MIGRATE_ABOUT_DUPLICATES, _duplicates(report)),
        ("invalid-inn", m.MIGRATE_SECTION_INVALID_INN, m.MIGRATE_ABOUT_INVALID_INN, _invalid(report)),
    ]
    figures = t(m.MIGRATE_FIGURES, b24=report.records.get(md.B24, 0), onec=report.records.get(md.ONEC, 0),
                pairs=s["pairs"], conflicts=s["conflict_groups"], duplicates=s["duplicate_groups"],
                invalid=len(report.invalid_inns))
    nav = "".join(f'<li><a href="#{anchor}">{_e(t(title))}</a></li>' for anchor, title, _, _ in sections)
    body = "".join(f'<section id="{anchor}"><h2>{_e(t(title))}</h2>{_about(about)}{content}</section>'
                   for anchor, title, about, content in sections)
    title = t(m.MIGRATE_TITLE)
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{_e(t(m.MIGRATE_HTML_LANG))}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{_e(title)}</h1>"
        f'<p class="muted">{_e(t(m.MIGRATE_SUBTITLE, portal=report.portal or "—", when=when))}</p>'
        f'<p>{_e(t(m.MIGRATE_READ_NOTE))}</p><p class="figures">{_e(figures)}</p></header>'
        f"<nav><h2>{_e(t(m.MIGRATE_CONTENTS))}</h2><ol>{nav}</ol></nav>"
        f"{body}<footer>{_e(t(m.MIGRATE_MADE_BY, version=version))}</footer></body></html>\n"
    )
