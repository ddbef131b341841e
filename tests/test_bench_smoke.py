"""Smoke test of ``bench/perf.py``: rows 1 and 2 at tiny sizes, b24sync alone, counts only.

The benchmark's own machinery (emulator in a child process, client in a fresh interpreter, the
JSON figures) runs end to end; what is asserted are counts, never seconds: every contact read once
with its phone and e-mail, requests at the keyset floor, every write applied, nothing rejected by
the portal's rate limit.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_perf_rows_1_and_2_make_the_floor_requests(tmp_path: Path) -> None:
    out = tmp_path / "perf.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "perf.py"), "--rows", "1,2", "--n", "2499", "--writes", "120",
         "--peers", "none", "--repeat", "1", "--json", str(out)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = json.loads(out.read_text(encoding="utf-8"))["rows"]

    read = rows["1"]["clients"]["b24sync"]
    assert read["records"] == read["distinct"] == read["complete"] == 2499
    assert read["requests"] == read["client_requests"] == rows["1"]["floor_requests"] == 1  # ⌈2,499 / 2,500⌉
    assert read["rejected"] == 0

    write = rows["2"]["result"]
    assert write["writes"] == write["holding"] == 120 and write["failed"] == 0
    assert write["requests"] == rows["2"]["floor_requests"] == 3  # ⌈120 / 50⌉
    assert write["rejected"] == 0
