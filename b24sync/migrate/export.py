"""The migration report as CSV files, one per section, made to open correctly in Excel.

Format (documented in docs/migration.md):

* UTF-8 **with a BOM**: without it Excel reads the file in the ANSI code page and Cyrillic turns
  into mojibake; with it, every other tool still reads plain UTF-8.
* ``;`` between fields and CRLF line ends: with a Russian locale (decimal comma) Excel splits a
  double-clicked CSV on ``;``, not on ``,``.
* INNs, KPPs and phones are written as Excel text literals (``="0105012345"``): opened as
  numbers, a leading zero (INNs of region 01–09) is lost, 12 digits turn into ``1,65943E+11`` and a
  leading ``+`` starts a formula.
* Any other cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or CR is prefixed with ``'``:
  names come from people and a name such as ``=HYPERLINK(…)`` must stay text (CSV injection).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from b24sync import messages as m
from b24sync.i18n import t
from b24sync.migrate.report import MigrationReport, Record
from b24sync.recon import model as md

__all__ = ["CSV_FILES", "csv_tables", "write_csv"]

CSV_FILES = {
    "summary": "summary.csv",
    "matched": "matched.csv",
    "conflicts": "ambiguous.csv",
    "unmatched_bitrix24": "only_bitrix24.csv",
    "unmatched_onec": "only_1c.csv",
    "duplicates": "duplicates.csv",
    "invalid_inn": "invalid_inn.csv",
}
ENCODING = "utf-8-sig"
DELIMITER = ";"
_LITERAL = re.compile(r"^[0-9+][0-9+ ,]*$")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Id(str):
    """A value Excel must keep as text (INN, KPP, phones)."""


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    if isinstance(value, _Id) and _LITERAL.match(text):
        return f'="{text}"'
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def _join(values: Iterable[str]) -> str:
    return ", ".join(values)


def _side(side: str) -> str:
    return t(m.MIGRATE_SIDES.get(side, side))


def _kind(kind: str) -> str:
    return t(m.MIGRATE_KINDS[kind]) if kind in m.MIGRATE_KINDS else kind


def _record_header() -> list[str]:
    return [t(m.MIGRATE_COL_RECORD), t(m.MIGRATE_COL_NAME), t(m.MIGRATE_COL_KIND), t(m.MIGRATE_COL_INN),
            t(m.MIGRATE_COL_KPP), t(m.MIGRATE_COL_EMAILS), t(m.MIGRATE_COL_PHONES), t(m.MIGRATE_COL_URL)]


def _record_cells(r: Record) -> list[object]:
    name = r.name if r.found else t(m.MIGRATE_NOT_FOUND)
    return [r.record_id if r.side == md.ONEC else r.key, name, _kind(r.kind), _Id(r.inn), _Id(r.kpp),
            _join(r.emails), _Id(_join(r.phones)), r.url]


def csv_tables(report: MigrationReport) -> dict[str, tuple[list[str], list[list[object]]]]:
    """Section → (header, rows), before cell escaping: what :func:`write_csv` writes."""
    tables: dict[str, tuple[list[str], list[list[object]]]] = {}
    summary: list[list[object]] = []
    for side in md.SIDES:
        for kind, count in report.totals[side].items():
            summary.append([t(m.MIGRATE_CHART_KINDS), _kind(kind), _side(side), count])
    for side in md.SIDES:
        for outcome, count in report.outcomes[side].items():
            summary.append([t(m.MIGRATE_CHART_OUTCOMES), t(m.MIGRATE_OUTCOMES[outcome]), _side(side), count])
    for method, count in report.method_counts.items():
        summary.append([t(m.MIGRATE_CHART_METHODS), t(m.MIGRATE_METHODS[method]), _side("both"), count])
    for kind, label in m.MIGRATE_CONFLICT_KINDS.items():
        if kind != "invalid_inn":
            count = sum(g.kind == kind for g in report.conflicts)
            summary.append([t(m.MIGRATE_SECTION_CONFLICTS), t(label), "", count])
    for scope, bases in report.duplicate_counts().items():
        for basis, count in bases.items():
            summary.append([t(m.MIGRATE_SECTION_DUPLICATES), t(m.MIGRATE_BASES[basis]), _side(scope), count])
    for side, count in report.summary()["invalid_inns"].items():
        summary.append([t(m.MIGRATE_SECTION_INVALID_INN), "", _side(side), count])
    tables["summary"] = ([t(m.MIGRATE_COL_SECTION), t(m.MIGRATE_COL_ITEM), t(m.MIGRATE_COL_SIDE),
                          t(m.MIGRATE_COL_COUNT)], summary)

    b24_label, onec_label = _side(md.B24), _side(md.ONEC)
    header = [t(m.MIGRATE_COL_METHOD), *(f"{b24_label}: {h}" for h in _record_header()),
              *(f"{onec_label}: {h}" for h in _record_header()[:-1])]
    tables["matched"] = (header, [[t(m.MIGRATE_METHODS.get(p.method, p.method)), *_record_cells(p.b24),
                                   *_record_cells(p.onec)[:-1]] for p in report.pairs])

    header = [t(m.MIGRATE_COL_GROUP), t(m.MIGRATE_COL_CONFLICT), t(m.MIGRATE_COL_DESCRIPTION), t(m.MIGRATE_COL_SIDE),
              *_record_header()]
    rows: list[list[object]] = []
    for n, group in enumerate(report.conflicts, start=1):
        for r in group.records:
            rows.append([n, t(m.MIGRATE_CONFLICT_KINDS.get(group.kind, group.kind)), group.message, _side(r.side),
                         *_record_cells(r)])
    tables["conflicts"] = (header, rows)

    header = [*_record_header()[:-1], t(m.MIGRATE_COL_CREATE), t(m.MIGRATE_COL_REASON), t(m.MIGRATE_COL_URL)]
    for side in md.SIDES:
        rows = []
        for u in report.unmatched_on(side):
            cells = _record_cells(u.record)
            reason = t(m.MIGRATE_NOT_CREATED[u.reason]) if u.reason in m.MIGRATE_NOT_CREATED else u.reason
            rows.append([*cells[:-1], t(m.MIGRATE_YES if u.creatable else m.MIGRATE_NO), reason, cells[-1]])
        tables[f"unmatched_{side}"] = (header, rows)

    header = [t(m.MIGRATE_COL_GROUP), t(m.MIGRATE_COL_SCOPE), t(m.MIGRATE_COL_BASIS), t(m.MIGRATE_COL_VALUE),
              t(m.MIGRATE_COL_SIDE), *_record_header()]
    rows = []
    for n, group in enumerate(report.duplicates, start=1):
        value: object = group.value if group.basis == "email" else _Id(group.value)
        for r in group.records:
            rows.append([n, _side(group.scope), t(m.MIGRATE_BASES[group.basis]), value, _side(r.side),
                         *_record_cells(r)])
    tables["duplicates"] = (header, rows)

    header = [t(m.MIGRATE_COL_SIDE), *_record_header()[:4], t(m.MIGRATE_COL_PROBLEM), t(m.MIGRATE_COL_URL)]
    tables["invalid_inn"] = (header, [
        [_side(i.record.side), *_record_cells(i.record)[:4],
         t(m.MIGRATE_INN_PROBLEMS.get(i.problem, i.problem)), i.record.url] for i in report.invalid_inns])
    return tables


def _write(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    with path.open("w", encoding=ENCODING, newline="") as fh:
        writer = csv.writer(fh, delimiter=DELIMITER, lineterminator="\r\n")
        writer.writerow([_cell(h) for h in header])
        writer.writerows([_cell(v) for v in row] for row in rows)


def write_csv(report: MigrationReport, directory: Path) -> list[Path]:
    """Write one CSV file per section into ``directory`` (created if needed); returns the paths."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    paths = []
    for section, (header, rows) in csv_tables(report).items():
        path = directory / CSV_FILES[section]
        _write(path, header, rows)
        paths.append(path)
    return paths

