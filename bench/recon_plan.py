"""Benchmark: normalize → match → diff → plan for N parties a side (default 1,000,000).

The world is the one of ``tests/unit/test_recon_scale.py``: 90 % of the pairs linked in the state
with their baseline, the rest matched by INN+KPP, INN or e-mail, 5 % of the parties edited. Prints
seconds per stage, the process's peak RSS after each stage, and the size of each stage's output.
Usage (from the repository root): ``python bench/recon_plan.py [N ...]``.
"""

from __future__ import annotations

import gc
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.unit.test_recon_scale import run_pipeline, synthetic_world  # noqa: E402


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(n: int) -> None:
    gc.collect()
    start = time.perf_counter()
    world = synthetic_world(n)
    print(f"\nN = {n:,} parties a side (inputs built in {time.perf_counter() - start:.1f} s, "
          f"peak RSS {_peak_mb():,.0f} MB)")
    print(f"{'stage':<22}{'seconds':>10}{'peak RSS MB':>14}")
    last = [time.perf_counter()]

    def clock(stage: str) -> None:
        now = time.perf_counter()
        print(f"{stage:<22}{now - last[0]:>10.2f}{_peak_mb():>14,.0f}")
        last[0] = now

    begin = time.perf_counter()
    b24, onec, matched, decided, plan = run_pipeline(world, clock)
    print(f"{'total':<22}{time.perf_counter() - begin:>10.2f}")
    print(f"frames: bitrix24 {b24.memory_usage(deep=True).sum() / 2**20:,.0f} MB, "
          f"1C {onec.memory_usage(deep=True).sum() / 2**20:,.0f} MB; pairs {len(matched.pairs):,}; "
          f"decisions {len(decided.decisions):,}; rejected edits {len(decided.rejected_edits):,}; "
          f"operations {len(plan.operations):,}; conflicts {len(plan.conflicts):,}")


if __name__ == "__main__":
    for arg in sys.argv[1:] or ["1000000"]:
        run(int(arg))
