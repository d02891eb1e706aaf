"""Publishing after an incremental build, against a copy of the working file (what every publish
cost before journeys/serving_file.py), in one run.

    python benchmarks/bench_publish.py --events 10000000 [--new-share 0.01]

The cached simulation is split as bench_incremental.py splits it. Into a fresh warehouse: load the
older 99%, build (the first serving file is a whole copy, in serving_storage_version's format),
build again with nothing new (the second serving file is a file copy of the first, brought up in
place), load the new 1%, build (the standby, two publishes behind, is brought up in place: timed by
the publish itself). Then, on the same machine a moment later, a plain copy of the working file.
Prints the incremental build's publish against both whole copies: the first build's (what a
publish in the configured format costs whole) and the plain file copy.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_incremental import split_by_time  # noqa: E402
from phases import DATA, run_phase, simulated_events  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--new-share", type=float, default=0.01)
    parser.add_argument("--keep", action="store_true", help="keep the warehouse home (printed) to look into")
    args = parser.parse_args()
    customers, path = simulated_events(args.events, args.days)
    folder = Path(tempfile.mkdtemp(prefix="bench-publish-", dir=DATA))
    home = folder / "home"
    try:
        older, newer, n_older, n_newer = split_by_time(path, args.new_share, folder)
        print(f"\n== {n_older:,} events, then {n_newer:,} new ({customers:,} customers) ==", flush=True)
        run_phase("load", home, str(older))
        whole = []
        for label in ("first build", "build with nothing new"):
            build = run_phase("build", home)
            print(f"{label:<28}{build['seconds']:8.2f} s  serving file {build['serving_file']}", flush=True)
            whole.append(float(re.search(r" in ([\d.]+) s", build["serving_file"])[1]))
        run_phase("load", home, str(newer))
        build = run_phase("build", home)
        print(f"{'incremental build':<28}{build['seconds']:8.2f} s  serving file {build['serving_file']}", flush=True)
        in_place = float(re.search(r" in ([\d.]+) s", build["serving_file"])[1])
        working = home / "warehouse.duckdb"
        started = time.perf_counter()
        shutil.copyfile(working, folder / "copy.duckdb")
        copied = time.perf_counter() - started
        print(f"copy of the working file    {copied:8.2f} s  ({working.stat().st_size / 2**30:.2f} GB)")
        print(f"serving file after the incremental build: {in_place:.2f} s = {in_place / copied:.1%} of the file copy, "
              f"{in_place / whole[0]:.1%} of the first build's whole copy ({whole[0]:.2f} s)")
    finally:
        if args.keep:
            print(f"kept {home}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
