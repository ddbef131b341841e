"""The initial migration: a report of what matching finds before anything is written, then the writes.

``report`` builds the report from reconciliation's results (pure functions over the frames),
``export`` writes it as CSV files, ``html`` as one self-contained HTML file, and ``run`` drives a
run against the two systems (read, report, plan, confirm, apply through the journal).
"""

from __future__ import annotations

import os
from pathlib import Path

from b24sync.migrate.export import CSV_FILES, write_csv
from b24sync.migrate.html import render_html
from b24sync.migrate.report import MigrationReport, build_report

__all__ = ["CSV_FILES", "HTML_FILE", "MigrationReport", "build_report", "render_html", "save_report", "write_csv"]

HTML_FILE = "report.html"


def save_report(report: MigrationReport, directory: Path) -> tuple[Path, list[Path]]:
    """Write the HTML report and the CSV files into ``directory``; returns (html, csv files).

    The files name the customer's counterparties, INNs and e-mails, so they are made readable by
    their owner only (as the state and the plans are); share them on purpose, not by umask.
    """
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    html_path = directory / HTML_FILE
    html_path.write_text(render_html(report), encoding="utf-8")
    paths = [html_path, *write_csv(report, directory)]
    for path in paths:
        os.chmod(path, 0o600)
    return html_path, paths[1:]
