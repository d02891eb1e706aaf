"""The whole `journeys build` (every layer, checks, publishing) against DuckDB's own floor, with its
peak memory, in one run.

    python benchmarks/bench_full_build.py --events 10000000 [--events 100000000]

For each size: simulate (cached under benchmarks/data/), bulk-load into a fresh warehouse, then time
the floor (DuckDB sorting the raw events by customer key and time with one window function, as in
bench_warehouse.py) and a full `journeys build` from raw, each in its own process so its peak RSS
is its own. Prints build/floor and the peak (targets: <= 3x the floor at 100M, peak < 4 GB).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from phases import loaded_warehouse, run_phase  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, action="append", help="approximate event count (repeatable)")
    parser.add_argument("--days", type=int, default=120)
    args = parser.parse_args()
    for target in args.events or [10_000_000]:
        with loaded_warehouse(target, args.days) as home:
            floor = run_phase("sort_floor", home)
            print(f"floor (sort + 1 window)   {floor['seconds']:8.2f} s  peak {floor['peak_rss_mb']:6,} MB", flush=True)
            build = run_phase("build", home)
            print(f"journeys build (full)     {build['seconds']:8.2f} s  peak {build['peak_rss_mb']:6,} MB"
                  f"  = {build['seconds'] / floor['seconds']:.2f}x floor (target <= 3x at 100M; peak < 4,000 MB)",
                  flush=True)


if __name__ == "__main__":
    main()
