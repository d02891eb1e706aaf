"""The Spark engine against the DuckDB engine on the same events, side by side in one run.

    python benchmarks/bench_spark.py --events 10000000 [--master local[2]]

The cached simulation (benchmarks/phases.py) is loaded into two fresh homes: one with the DuckDB
engine (raw in the warehouse file), one with the Spark engine (raw in the lake); each is then built
by `journeys build` in a process of its own. Prints each engine's load and build time and the
ratio Spark / DuckDB. Peak memory is the Python process's own: Spark's JVM is a child of it and
not counted (its heap is capped by spark_driver_memory).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from phases import DATA, run_phase, simulated_events  # noqa: E402


def _engine(name: str, master: str) -> None:
    os.environ["JOURNEYS_ENGINE"] = name
    os.environ["JOURNEYS_SPARK_MASTER"] = master


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    customers, path = simulated_events(args.events, args.days)
    folder = Path(tempfile.mkdtemp(prefix="bench-spark-", dir=DATA))
    figures = {}
    try:
        for engine in ("duckdb", "spark"):
            _engine(engine, args.master)
            home = folder / engine
            load = run_phase("load", home, str(path))
            build = run_phase("build", home)
            figures[engine] = (load, build)
            print(f"{engine:<7} load {load['seconds']:8.1f} s   build {build['seconds']:8.1f} s   "
                  f"peak {build['peak_rss_mb']:,} MB (Python)", flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    duck, spark = figures["duckdb"][1]["seconds"], figures["spark"][1]["seconds"]
    print(f"\n{figures['duckdb'][0]['loaded']:,} events ({customers:,} customers): Spark {args.master} build "
          f"{spark:.1f} s / DuckDB {duck:.1f} s = {spark / duck:.2f}x")


if __name__ == "__main__":
    main()
