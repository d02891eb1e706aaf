"""Journey build and metrics against DuckDB's own floor, on simulated events, in one run.

    python benchmarks/bench_warehouse.py --events 1000000 [--events 10000000]

For each size: simulate (cached under benchmarks/data/), bulk-load into a fresh warehouse, then time
(1) the floor: DuckDB sorting the raw events by (customer key, time) with one window function,
(2) the build from raw to marts.journeys, (3) every metrics mart of the journey-metrics issue.
Prints build/floor (target <= 4x, peak memory < 6 GB at 10M) and metrics/build (target <= 3x).
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
    parser.add_argument("--skip-metrics", action="store_true")
    args = parser.parse_args()
    for target in args.events or [1_000_000]:
        with loaded_warehouse(target, args.days) as home:
            floor = run_phase("sort_floor", home)
            build = run_phase("journey_model", home)
            print(f"floor (sort + 1 window)   {floor['seconds']:8.2f} s  peak {floor['peak_rss_mb']:6,} MB")
            print(f"raw -> marts.journeys     {build['seconds']:8.2f} s  peak {build['peak_rss_mb']:6,} MB"
                  f"  = {build['seconds'] / floor['seconds']:.2f}x floor (target <= 4x)  {build['journeys']:,} journeys")
            if not args.skip_metrics:
                metrics = run_phase("metrics", home)
                print(f"metrics marts             {metrics['seconds']:8.2f} s  peak {metrics['peak_rss_mb']:6,} MB"
                      f"  = {metrics['seconds'] / build['seconds']:.2f}x journey build (target <= 3x)")


if __name__ == "__main__":
    main()
