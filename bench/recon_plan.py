"""Benchmark: normalize → match → diff → plan for N parties a side (default 1,000,000), against datacompy.

The world is the one of ``tests/unit/test_recon_scale.py``: 90 % of the pairs linked in the state
with their baseline, the rest matched by INN+KPP, INN or e-mail, 5 % of the parties edited. One
table per N: wall and CPU seconds per stage (CPU time is what the code costs when the machine is
shared), the peak RSS (absolute, and above what the process held once its inputs were built: the
input frames alone are several GB at a million parties), and ``datacompy`` comparing the same
frames — the paired rows of both canonical frames, the synchronized fields, joined on the pair —
in a subprocess of its own, so the two peaks do not mix. Ratios are to the targets: 20 s and 3 GB
at a million parties a side, and faster than datacompy.

Usage (from the repository root): ``python bench/recon_plan.py [N ...] [--no-datacompy]``; datacompy
is in the ``bench`` extra (``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from b24sync.recon.model import SYNC_FIELDS  # noqa: E402
from tests.unit.test_recon_scale import run_pipeline, synthetic_world  # noqa: E402

TARGET_SECONDS = 20.0
TARGET_PEAK_MB = 3 * 1024
STAGES = ("normalize_bitrix24", "normalize_onec", "match", "diff", "plan")


# --- memory ----------------------------------------------------------------------------------------
def _status_mb(field: str) -> float | None:
    """``VmRSS`` / ``VmHWM`` of this process in MB (None where /proc is not there)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return None


def _settle() -> float:
    """Collect garbage and give freed heap back to the system; the RSS left is what is really held."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    return _status_mb("VmRSS") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak() -> bool:
    """Start the peak RSS (``VmHWM``) afresh, so building the inputs does not count (Linux ≥ 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _peak_mb() -> float:
    return _status_mb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- datacompy, in its own process --------------------------------------------------------------------
def _compare_frames(b24: pd.DataFrame, onec: pd.DataFrame, pairs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The paired rows of both canonical frames, synchronized fields only, with the pair number to join on."""
    frames = []
    for frame, column in ((b24, "b24_key"), (onec, "onec_key")):
        pos = pd.Index(frame["key"].to_numpy(dtype=object), dtype=object).get_indexer(
            pairs[column].to_numpy(dtype=object))
        part = frame.iloc[pos][list(SYNC_FIELDS)].reset_index(drop=True)
        part.insert(0, "pair", np.arange(len(part)))
        frames.append(part)
    return frames[0], frames[1]


def _datacompy_child(path: str) -> None:
    """Subprocess: load the two frames, then time ``datacompy.PandasCompare`` and its mismatch rows."""
    import datacompy

    with open(path, "rb") as fh:
        left, right = pickle.load(fh)
    base = _settle()
    exact = _reset_peak()
    wall, cpu = time.perf_counter(), time.process_time()
    compare = datacompy.PandasCompare(left, right, join_columns="pair")
    mismatched = len(compare.all_mismatch())
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = _peak_mb()
    print(json.dumps({"wall": wall, "cpu": cpu, "peak": peak, "above": peak - base if exact else None,
                      "inputs": base, "mismatched": mismatched, "version": datacompy.__version__}))


def _datacompy(b24: pd.DataFrame, onec: pd.DataFrame, pairs: pd.DataFrame) -> dict | None:
    try:
        import datacompy  # noqa: F401
    except ImportError:
        print("(datacompy is not installed: pip install -e '.[bench]')")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "frames.pickle")
        with open(path, "wb") as fh:
            pickle.dump(_compare_frames(b24, onec, pairs), fh, protocol=pickle.HIGHEST_PROTOCOL)
        done = subprocess.run([sys.executable, __file__, "--datacompy", path], capture_output=True, text=True,
                              check=False)
    if done.returncode:
        print(f"(datacompy failed: {done.stderr.strip().splitlines()[-1:]})")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the run ---------------------------------------------------------------------------------------------
def run(n: int, *, compare: bool = True) -> None:
    gc.collect()
    start = time.perf_counter()
    world = synthetic_world(n)
    built = time.perf_counter() - start
    inputs = _settle()
    exact = _reset_peak()
    rows: list[tuple[str, float, float, float]] = []
    last = [time.perf_counter(), time.process_time()]

    def clock(stage: str) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        rows.append((stage, now - last[0], cpu - last[1], _peak_mb()))
        last[0], last[1] = time.perf_counter(), time.process_time()

    b24, onec, matched, decided, plan = run_pipeline(world, clock)
    wall, cpu, peak = sum(r[1] for r in rows), sum(r[2] for r in rows), rows[-1][3]
    theirs = _datacompy(b24, onec, matched.pairs) if compare else None

    above = "above inputs MB" if exact else "above start MB"
    print(f"\nN = {n:,} parties a side: inputs built in {built:.1f} s, holding {inputs:,.0f} MB")
    print(f"{'stage':<30}{'wall s':>9}{'CPU s':>9}{'peak RSS MB':>13}{above:>17}   vs target")
    for stage, s_wall, s_cpu, s_peak in rows:
        print(f"{stage:<30}{s_wall:>9.2f}{s_cpu:>9.2f}{s_peak:>13,.0f}{s_peak - inputs:>17,.0f}")
    scale = n / 1_000_000
    print(f"{'total':<30}{wall:>9.2f}{cpu:>9.2f}{peak:>13,.0f}{peak - inputs:>17,.0f}   "
          f"wall {wall / (TARGET_SECONDS * scale):.2f}× of {TARGET_SECONDS * scale:.1f} s, "
          f"CPU {cpu / (TARGET_SECONDS * scale):.2f}×; peak {peak / TARGET_PEAK_MB:.2f}× of 3 GB "
          f"({(peak - inputs) / TARGET_PEAK_MB:.2f}× above inputs)")
    if theirs:
        diff_wall = next(r[1] for r in rows if r[0] == "diff")
        match_diff = sum(r[1] for r in rows if r[0] in ("match", "diff"))
        theirs_above = theirs["above"] if theirs["above"] is not None else float("nan")
        print(f"{'datacompy ' + theirs['version'] + ' (subprocess)':<30}{theirs['wall']:>9.2f}{theirs['cpu']:>9.2f}"
              f"{theirs['peak']:>13,.0f}{theirs_above:>17,.0f}   diff {diff_wall / theirs['wall']:.2f}×, "
              f"match+diff {match_diff / theirs['wall']:.2f}× of its time")
    print(f"frames: bitrix24 {len(b24):,}, 1C {len(onec):,}; pairs {len(matched.pairs):,}; "
          f"decisions {len(decided.decisions):,}; rejected edits {len(decided.rejected_edits):,}; "
          f"operations {len(plan.operations):,}; conflicts {len(plan.conflicts):,}"
          + (f"; datacompy mismatched rows {theirs['mismatched']:,}" if theirs else ""))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--datacompy"]:
        _datacompy_child(sys.argv[2])
        sys.exit(0)
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    for arg in args or ["1000000"]:
        run(int(arg), compare="--no-datacompy" not in sys.argv)
