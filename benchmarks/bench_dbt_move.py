"""`journeys build` on the dbt layer against the same command before the move to dbt, side by side.

    python benchmarks/bench_dbt_move.py --events 10000000 [--rounds 2] [--baseline a63f361]

Simulates the events once (cached under benchmarks/data/), loads them into one warehouse, and
copies it for each run, so both builds start from the same raw data. The baseline is the last commit
before the move (`--baseline`), checked out in a temporary git worktree and installed, without its
dependencies, into a venv that reuses this one's packages. The two commands then run alternately
(baseline, current, baseline, current, ...) so a busy machine slows both alike. Each time is the
whole `journeys build` process, start-up and publishing included, as a user meets it. Prints each
run, the medians and current/baseline (target <= 1.1).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from phases import DATA, run_phase, simulated_events  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def baseline_python(commit: str, workdir: Path) -> Path:
    """A Python whose `journeys` is `commit`'s code, on this venv's installed packages."""
    tree, venv = workdir / "baseline-tree", workdir / "baseline-venv"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-f", str(tree), commit],
                   check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    import duckdb

    site = Path(duckdb.__file__).resolve().parents[1]  # where this venv's packages really are
    (next(venv.glob("lib/python3*/site-packages")) / "reuse_current_venv.pth").write_text(f"{site}\n")
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "wheel"], check=True)  # to build the editable
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "-e", str(tree)], check=True)
    return venv / "bin" / "python"


def timed_build(python: Path, raw_copy: Path, home: Path) -> float:
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    shutil.copy(raw_copy, home / "warehouse.duckdb")
    started = time.perf_counter()
    result = subprocess.run([str(python), "-m", "journeys.cli", "build"], capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home()), "JOURNEYS_HOME": str(home)},
                            cwd=home)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{python} build failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000_000, help="approximate event count")
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--baseline", default="a63f361", help="the commit before the move to dbt")
    args = parser.parse_args()
    customers, path = simulated_events(args.events, args.days)
    work = Path(tempfile.mkdtemp(prefix="bench-dbt-", dir=DATA))
    try:
        old = baseline_python(args.baseline, work)
        loaded = work / "loaded"
        load = run_phase("load", loaded, str(path))
        print(f"{load['loaded']:,} events ({customers:,} customers), load {load['seconds']} s", flush=True)
        raw_copy = work / "raw.duckdb"
        shutil.copy(loaded / "warehouse.duckdb", raw_copy)
        shutil.rmtree(loaded)
        times: dict[str, list[float]] = {"baseline": [], "current": []}
        for round_number in range(1, args.rounds + 1):
            for name, python in (("baseline", old), ("current", Path(sys.executable))):
                seconds = timed_build(python, raw_copy, work / name)
                times[name].append(seconds)
                print(f"round {round_number}  {name:8}  journeys build {seconds:7.1f} s", flush=True)
        base, current = statistics.median(times["baseline"]), statistics.median(times["current"])
        print(f"median: baseline ({args.baseline}) {base:.1f} s, current (dbt) {current:.1f} s, "
              f"current/baseline {current / base:.3f} (target <= 1.1)")
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(work / "baseline-tree")],
                       capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
