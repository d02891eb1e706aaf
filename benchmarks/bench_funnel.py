"""`journeys funnel` against ClickHouse's windowFunnel (chdb), both as whole processes, in one run.

    python benchmarks/bench_funnel.py [--events 1000000] [--repeat 3]
    python benchmarks/bench_funnel.py --events 10000000       # the issue's size: ~8 min to build once

Builds (once, cached under benchmarks/data/) a published warehouse from simulated events with the
real `journeys simulate/load/build`, exports marts.journey_steps' person_id, occurred_at and
event_type to Parquet, and times, alternately, medians of --repeat runs of:

1. `journeys funnel --steps product_view,add_to_cart,purchase --window 7d --format csv`;
2. a Python process running chdb (ClickHouse in-process, the engine under PostHog's funnels) with
   `windowFunnel(7 days)` over that Parquet file — installed for this benchmark only, with
   `pip install --target benchmarks/data/chdb` and put on that process's sys.path alone;
3. the floor of any `journeys` command: a process that imports the CLI and checks the settings.

Wall time and peak RSS are each process's own (os.wait4). Prints both, the ratios (target: ours
<= 2x chdb's time) and checks the counts per step are identical.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
CHDB_DIR = DATA / "chdb"
EVENTS_PER_CUSTOMER = 46  # the simulator's average over 120 days (bench_warehouse.py)
STEPS = ("product_view", "add_to_cart", "purchase")
WINDOW_S = 7 * 86400
VENV_BIN = Path(sys.executable).parent

CHDB_SCRIPT = """
import sys
sys.path.insert(0, sys.argv[1])
import chdb
steps = sys.argv[3].split(",")
conditions = ", ".join(f"event_type = '{s}'" for s in steps)
print(chdb.query(f'''
    SELECT level, count() AS n FROM (
        SELECT person_id, windowFunnel({sys.argv[4]})(toUInt64(toUnixTimestamp64Micro(occurred_at)), {conditions}) AS level
        FROM file('{sys.argv[2]}', Parquet)
        WHERE event_type IN ({", ".join(repr(s) for s in steps)})
        GROUP BY person_id
    ) GROUP BY level ORDER BY level''', "CSV"), end="")
"""

FLOOR_SCRIPT = "import journeys.cli; from journeys.settings import load_settings; load_settings()"


def run(argv: list[str], env: dict | None = None) -> tuple[float, int, str]:
    """(wall seconds, peak RSS in MB, stdout) of one whole process, reaped with wait4 for its own rusage."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, env=env)
        out = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        process.stdout.close()
        if process.returncode:
            err.seek(0)
            raise RuntimeError(f"{argv[:3]} failed ({process.returncode}): {err.read().decode()[-2000:]}")
    return elapsed, round(usage.ru_maxrss / 1024), out.decode()


def journeys(home: Path, *args: str, check: bool = True) -> None:
    env = {**os.environ, "JOURNEYS_HOME": str(home), "JOURNEYS_CONFIG": ""}
    subprocess.run([str(VENV_BIN / "journeys"), *args], env=env, check=check, stdout=subprocess.DEVNULL)


def warehouse(target_events: int, days: int) -> Path:
    """A published warehouse of about target_events simulated events, built once and cached."""
    customers = max(1, target_events // EVENTS_PER_CUSTOMER)
    home = DATA / f"funnel_{customers}c_{days}d"
    if (home / "published" / "warehouse.duckdb").exists() and (home / "built").exists():
        return home
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    simulated = DATA / f"sim_{customers}c_{days}d.parquet"
    started = time.perf_counter()
    if not simulated.exists():
        print(f"simulating {customers:,} customers over {days} days -> {simulated} ...", flush=True)
        journeys(home, "simulate", "--customers", str(customers), "--days", str(days), "--seed", "11", "--out", str(simulated))
    print("loading and building the warehouse (journeys load, journeys build) ...", flush=True)
    journeys(home, "load", "--file", str(simulated))
    journeys(home, "build")
    (home / "built").touch()
    print(f"  built in {time.perf_counter() - started:.0f} s", flush=True)
    return home


def export_steps(home: Path) -> Path:
    """marts.journey_steps' person_id, occurred_at, event_type as Parquet, in table order. In a child
    process, like everything that opens the warehouse: the children's peak RSS must be their own, not
    pages inherited from this process at fork."""
    path = home / "journey_steps.parquet"
    if not path.exists():
        _duckdb(home, f"copy (select person_id, occurred_at, event_type from marts.journey_steps) "
                      f"to '{path}' (format parquet, compression zstd)")
    return path


def _duckdb(home: Path, sql: str) -> str:
    script = ("import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
              "rows = con.execute(sys.argv[2]).fetchall(); print(rows[0][0] if rows else '')")
    out = subprocess.run([sys.executable, "-c", script, str(home / "published" / "warehouse.duckdb"), sql],
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


def install_chdb() -> None:
    """chdb into benchmarks/data/chdb only: nothing of it reaches the project's environment."""
    if (CHDB_DIR / "chdb").exists():
        return
    print(f"installing chdb into {CHDB_DIR} (for this benchmark only) ...", flush=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--target", str(CHDB_DIR), "chdb"], check=True)


def ours_counts(out: str) -> list[int]:
    return [int(row["n_reached"]) for row in csv.DictReader(io.StringIO(out))]


def chdb_counts(out: str, n_steps: int) -> list[int]:
    levels = {int(level): int(n) for level, n in csv.reader(io.StringIO(out))}
    return [sum(n for level, n in levels.items() if level >= k) for k in range(1, n_steps + 1)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000, help="approximate simulated events (default 1M)")
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    home = warehouse(args.events, args.days)
    parquet = export_steps(home)
    install_chdb()
    env = {**os.environ, "JOURNEYS_HOME": str(home), "JOURNEYS_CONFIG": ""}
    commands = {
        "journeys funnel": ([str(VENV_BIN / "journeys"), "funnel", "--steps", ",".join(STEPS), "--window", "7d",
                             "--format", "csv"], env),
        "chdb windowFunnel": ([sys.executable, "-c", CHDB_SCRIPT, str(CHDB_DIR), str(parquet), ",".join(STEPS),
                               str(WINDOW_S * 1_000_000)], None),
        "journeys start-up floor": ([sys.executable, "-c", FLOOR_SCRIPT], env),
    }
    for argv, run_env in commands.values():  # warm the page cache and Python's bytecode cache once
        run(argv, run_env)
    times: dict[str, list[float]] = {name: [] for name in commands}
    peaks: dict[str, list[int]] = {name: [] for name in commands}
    outputs: dict[str, str] = {}
    for _ in range(args.repeat):
        for name, (argv, run_env) in commands.items():
            elapsed, peak, out = run(argv, run_env)
            times[name].append(elapsed)
            peaks[name].append(peak)
            outputs[name] = out

    ours, theirs = ours_counts(outputs["journeys funnel"]), chdb_counts(outputs["chdb windowFunnel"], len(STEPS))
    n_events = _count_events(home)
    print(f"\n{n_events:,} journey steps, funnel {' -> '.join(STEPS)}, window 7d; medians of {args.repeat} "
          f"whole-process runs (runs in brackets)")
    print(f"{'process':26} {'wall s':>8} {'peak MB':>8}")
    for name in commands:
        print(f"{name:26} {statistics.median(times[name]):8.2f} {statistics.median(peaks[name]):8,}   "
              f"[{', '.join(f'{t:.2f}' for t in times[name])}]")
    ratio = statistics.median(times["journeys funnel"]) / statistics.median(times["chdb windowFunnel"])
    memory = statistics.median(peaks["journeys funnel"]) / statistics.median(peaks["chdb windowFunnel"])
    print(f"\njourneys funnel / chdb: time {ratio:.2f}x (target <= 2x), peak memory {memory:.2f}x")
    print(f"counts per step: journeys {ours}, chdb {theirs}: {'identical' if ours == theirs else 'DIFFERENT'}")
    if ours != theirs:
        sys.exit(1)


def _count_events(home: Path) -> int:
    return int(_duckdb(home, "select count(*) from marts.journey_steps"))


if __name__ == "__main__":
    main()
