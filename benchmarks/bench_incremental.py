"""An incremental `journeys build` after 1% new events, against the full build of the other 99%,
in one run.

    python benchmarks/bench_incremental.py --events 10000000 [--new-share 0.01] [--profile]

The cached simulation (benchmarks/data/) is split by occurred_at: the latest `--new-share` of the
events are the new ones. Into a fresh warehouse: load the first 99%, full `journeys build` (timed:
the baseline), load the new 1%, `journeys build` again (timed: incremental), each build in its own
process with its peak RSS. Prints incremental/full (target <= 10%). `--profile` also prints the
incremental build's slowest steps (profile_build_memory.py, with `journeys -v build`'s list of
every step's duration).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from phases import DATA, run_phase, simulated_events  # noqa: E402
from profile_build_memory import profile_build  # noqa: E402


def split_by_time(path: Path, new_share: float, folder: Path) -> tuple[Path, Path, int, int]:
    """(older events file, newer events file, their sizes): the newest new_share of events by occurred_at."""
    events = pq.read_table(path)
    cut = pc.quantile(pc.cast(events["occurred_at"], "int64"), q=1 - new_share)[0].as_py()
    newer = pc.greater(pc.cast(events["occurred_at"], "int64"), cut)
    older_path, newer_path = folder / "older.parquet", folder / "newer.parquet"
    pq.write_table(events.filter(pc.invert(newer)), older_path)
    pq.write_table(events.filter(newer), newer_path)
    n_newer = pc.sum(newer).as_py()
    return older_path, newer_path, events.num_rows - n_newer, n_newer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--new-share", type=float, default=0.01)
    parser.add_argument("--profile", action="store_true", help="print the incremental build's slowest steps")
    args = parser.parse_args()
    customers, path = simulated_events(args.events, args.days)
    home = Path(tempfile.mkdtemp(prefix="bench-incremental-", dir=DATA))
    try:
        older, newer, n_older, n_newer = split_by_time(path, args.new_share, home)
        print(f"\n== {n_older:,} events, then {n_newer:,} new ({customers:,} customers) ==", flush=True)
        run_phase("load", home / "home", str(older))
        full = run_phase("build", home / "home")
        print(f"full build                {full['seconds']:8.2f} s  peak {full['peak_rss_mb']:6,} MB", flush=True)
        load = run_phase("load", home / "home", str(newer))
        print(f"load of the new events    {load['seconds']:8.2f} s", flush=True)
        if args.profile:
            seconds, peak = profile_build(home / "home", top=25, by="time", verbose=True)
            incremental = {"seconds": seconds, "peak_rss_mb": round(peak)}
        else:
            incremental = run_phase("build", home / "home")
        print(f"incremental build         {incremental['seconds']:8.2f} s  peak {incremental['peak_rss_mb']:6,} MB"
              f"  = {incremental['seconds'] / full['seconds']:.1%} of the full build (target <= 10%)")
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
