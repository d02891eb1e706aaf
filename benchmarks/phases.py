"""Benchmark phases, each run in its own process so its peak memory is its own.

Peak memory is the process's VmHWM (Linux), not ru_maxrss: Python starts children with vfork,
and exec carries the parent's high-water mark into the child's ru_maxrss, so a parent that once
held 5 GB (bench_incremental.py splitting the events) made every phase report 5 GB.

    python benchmarks/phases.py PHASE HOME [ARGS...]  ->  prints one JSON line {seconds, peak_rss_mb, ...}
"""

from __future__ import annotations

import contextlib
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


def run_phase(phase: str, home: Path, *args: str) -> dict:
    """Runs a phase in a child process and returns its JSON report. The child's stderr (its log, and
    the traceback when it fails) passes through, so a failed phase says why."""
    out = subprocess.run([sys.executable, __file__, phase, str(home), *args], check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


DATA = Path(__file__).resolve().parent / "data"
EVENTS_PER_CUSTOMER = 46  # the simulator's average over 120 days, measured


def simulated_events(events: int, days: int) -> tuple[int, Path]:
    """(customers, Parquet file) of a simulation of about `events` events (seed 11), simulated
    once and cached under benchmarks/data/, so every benchmark reads the same events."""
    customers = max(1, events // EVENTS_PER_CUSTOMER)
    path = DATA / f"sim_{customers}c_{days}d.parquet"
    if not path.exists():
        print(f"simulating {customers:,} customers -> {path} ...", flush=True)
        print("  ", run_phase("simulate", DATA, str(path), str(customers), str(days), "11"), flush=True)
    return customers, path


@contextlib.contextmanager
def loaded_warehouse(events: int, days: int) -> Iterator[Path]:
    """A fresh warehouse home, bulk-loaded with the cached simulation of about `events` events
    (its heading printed), removed afterwards; kept when a phase fails, so the failure can be
    looked at (and a 100M load is not paid twice)."""
    customers, path = simulated_events(events, days)
    home = Path(tempfile.mkdtemp(prefix="bench-", dir=DATA))
    load = run_phase("load", home, str(path))
    print(f"\n== {load['loaded']:,} events ({customers:,} customers) ==  load {load['seconds']} s", flush=True)
    try:
        yield home
    except BaseException:
        print(f"kept the warehouse of the failed run: {home}", file=sys.stderr, flush=True)
        raise
    shutil.rmtree(home, ignore_errors=True)


def _settings(home: str):
    from journeys.settings import load_settings

    return load_settings(home=Path(home))


def phase_simulate(home: str, path: str, customers: str, days: str, seed: str) -> dict:
    from journeys.pipelines.sim_files import write_simulation

    return {"events": write_simulation(Path(path), int(customers), int(days), int(seed))}


def phase_load(home: str, path: str) -> dict:
    from journeys.pipelines.loader import load_file

    result = load_file(_settings(home), Path(path))
    return {"loaded": result.n_loaded, "dead_lettered": result.n_dead_lettered}


def phase_sort_floor(home: str) -> dict:
    """DuckDB's own time to sort the raw events by (customer key, time) with one window function."""
    from journeys import warehouse

    with warehouse.writer(_settings(home)) as con:
        con.execute("""
            create or replace table bench_floor as
            select *, occurred_at - lag(occurred_at) over (
                partition by coalesce(customer_id, loyalty_id, email_hash, phone_hash, anonymous_id)
                order by occurred_at) as gap
            from raw.touchpoints""")
        con.execute("drop table bench_floor")
    return {}


def phase_journey_model(home: str) -> dict:
    from journeys import warehouse
    from journeys.transforms import build_plan

    journey_marts = ("marts.journeys", "marts.journey_steps", "marts.persons", "marts.identity_map",
                     "marts.identity_conflicts", "marts.stage_model", "marts.stages")
    with warehouse.writer(_settings(home)) as con:
        build_plan.build(con, _settings(home), build_plan.with_upstream(_settings(home), journey_marts))
        return {"journeys": con.execute("select count(*) from marts.journeys").fetchone()[0]}


def phase_metrics(home: str) -> dict:
    from journeys import warehouse
    from journeys.transforms import build_plan

    with warehouse.writer(_settings(home)) as con:
        build_plan.build(con, _settings(home), ("marts.stage_funnel", "marts.conversion", "marts.customer_churn_periods",
                                                "marts.customer_lifecycle", "marts.churn_monthly",
                                                "marts.cohort_retention", "intermediate.int_clv_predictions",
                                                "marts.clv_model_params", "marts.customer_value"))
    return {}


def phase_build(home: str) -> dict:
    """`journeys build` as the command runs it (in process): every layer, its checks, publishing; full
    on a new warehouse, incremental after that."""
    from journeys.build import build_warehouse

    result = build_warehouse(_settings(home))
    if not result.success:
        raise SystemExit(f"the build failed: {result}")
    return {"serving_file": (result.published or {}).get("serving_file")}


def _peak_rss_kb() -> int:
    """This process's own peak resident memory, in kB."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


PHASES = {name[len("phase_"):]: fn for name, fn in globals().items() if name.startswith("phase_")}

if __name__ == "__main__":
    name, home, *rest = sys.argv[1:]
    started = time.perf_counter()
    report = PHASES[name](home, *rest)
    report.update(seconds=round(time.perf_counter() - started, 2),
                  peak_rss_mb=round(_peak_rss_kb() / 1024))
    print(json.dumps(report))
