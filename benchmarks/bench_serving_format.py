"""A whole copy of the serving file in the older storage format (serving_storage_version v1.1.0, the
default: COPY FROM DATABASE into a file attached with that STORAGE_VERSION), against a plain copy of
the working file (what `latest` does), in one run on the same built warehouse.

    python benchmarks/bench_serving_format.py --events 1000000

Loads the cached simulation into a fresh warehouse and builds it, then times, twice each and
alternating (the page cache warms for both alike): the plain file copy, and the copy in the older
format. Prints both and their ratio. A whole copy happens on the first two publishes and when an
update in place cannot be trusted (journeys/serving_file.py); the other publishes update in place
and do not pay it.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from phases import loaded_warehouse, run_phase  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=120)
    args = parser.parse_args()
    from journeys import serving_file
    from journeys.settings import load_settings

    with loaded_warehouse(args.events, args.days) as home:
        started = time.perf_counter()
        run_phase("build", home)
        print(f"build {time.perf_counter() - started:.1f} s", flush=True)
        settings = load_settings(home=home)
        size_gb = settings.warehouse_path.stat().st_size / 2**30
        target = home / "bench-copy.duckdb"
        timings: dict[str, list[float]] = {"file copy (latest)": [], "COPY FROM DATABASE (v1.1.0)": []}
        for _ in range(2):
            for name in timings:
                serving_file._remove(target)
                started = time.perf_counter()
                if name.startswith("file copy"):
                    shutil.copyfile(settings.warehouse_path, target)
                else:
                    serving_file._copy_in_format(settings, target)
                timings[name].append(time.perf_counter() - started)
        written = target.stat().st_size / 2**30
        serving_file._remove(target)
    plain, older = (min(t) for t in timings.values())
    print(f"working file {size_gb:.2f} GB; the v1.1.0 copy {written:.2f} GB")
    for name, seconds in timings.items():
        print(f"  {name:<30} {', '.join(f'{s:.2f} s' for s in seconds)}")
    print(f"  ratio (best of each): {older / plain:.1f}x the plain copy")


if __name__ == "__main__":
    main()
