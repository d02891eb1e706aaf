"""Where a `journeys build` spends its memory: the peak RSS between each line it prints.

    python benchmarks/profile_build_memory.py HOME [--top 15] [--by memory|time] [--full] [--verbose]

Runs `journeys build` on the warehouse in HOME (load it first, for example with
bench_full_build.py's set-up or `journeys load`), samples the process's resident memory
(/proc/PID/status VmRSS, its children included) every 0.1 s, and charges each sample to the
interval between two lines the build printed: the work done in that interval is what ends with
the second line (a model materialized, a check passed). Prints the intervals with the highest
peaks (or the longest, `--by time`), then the build's overall peak and time. Linux only.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path


def _rss_mb(pid: int) -> float:
    """VmRSS of a process and its children, in MB (0 once it has exited)."""
    total = 0.0
    for p in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def _high_water_mb(pid: int) -> float:
    """VmHWM: the process's peak resident memory so far, in MB, which no sampling interval misses."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0.0


def _children(pid: int) -> list[int]:
    try:
        found = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []
    return found + [g for c in found for g in _children(c)]


_DAGSTER_PREFIX = re.compile(r"^.* - dagster - \w+ - \S+ - [0-9a-f-]{36} - ")
"""Dagster's log line up to the run id, dropped so the step and the event fit in the line shown."""


def profile_build(home: Path, top: int = 15, by: str = "memory", full: bool = False,
                  verbose: bool = False) -> tuple[float, float]:
    """Runs and profiles `journeys build` (`--full` when full) in `home`, printing the top intervals;
    returns (seconds, peak MB). `verbose` runs `journeys -v build`: Dagster's INFO log splits the
    intervals further, and the build's own list of every step's duration is printed at the end."""
    journeys = Path(sys.executable).with_name("journeys")
    started = time.perf_counter()
    command = [str(journeys), *(["-v"] if verbose else []), "build", *(["--full"] if full else [])]
    proc = subprocess.Popen(command, env={**os.environ, "JOURNEYS_HOME": str(home)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    interval_peak = [0.0]
    intervals: list[tuple[float, float, str, float]] = []  # (peak MB, seconds, the line that ended it, VmHWM after)

    def sample() -> None:
        while proc.poll() is None:
            interval_peak[0] = max(interval_peak[0], _rss_mb(proc.pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    last = started
    printed: list[str] = []
    for line in proc.stdout:
        printed.append(line.rstrip())
        if line.strip():
            now = time.perf_counter()
            intervals.append((interval_peak[0], now - last, _DAGSTER_PREFIX.sub("", line.strip())[:100],
                              _high_water_mb(proc.pid)))
            interval_peak[0], last = 0.0, now
    proc.wait()
    sampler.join()
    seconds = time.perf_counter() - started
    peak = max((i[0] for i in intervals), default=0)
    # the interval where the high-water mark reached its final value holds the true peak, sampled or not
    peak_line = next((i[2] for i in intervals if intervals and i[3] >= intervals[-1][3]), "")
    print(f"{'peak MB':>8} {'seconds':>8} {'HWM MB':>8}  until the build printed (peak: sampled every 0.1 s; "
          f"HWM: the process's high-water mark after the line)")
    for interval_peak_mb, took, line, hwm in sorted(intervals, key=lambda i: -i[0 if by == "memory" else 1])[:top]:
        print(f"{interval_peak_mb:8,.0f} {took:8.1f} {hwm:8,.0f}  {line}")
    print(f"\nexit {proc.returncode}, {seconds:.1f} s, peak {peak:,.0f} MB sampled, "
          f"{intervals[-1][3] if intervals else 0:,.0f} MB high-water mark, reached before: {peak_line}")
    if verbose:  # the build's own list of every step's duration
        listing = next((i for i, line in enumerate(printed) if "steps by duration" in line), len(printed))
        print("", *[line for line in printed[listing:] if line.startswith("    ") or "steps by duration" in line], sep="\n")
    if proc.returncode:
        print("\nthe build's last lines:", *printed[-40:], sep="\n")
        raise SystemExit(f"journeys build failed (exit {proc.returncode})")
    return seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("home", type=Path)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--by", choices=("memory", "time"), default="memory")
    parser.add_argument("--full", action="store_true", help="a full build (`journeys build --full`)")
    parser.add_argument("--verbose", action="store_true", help="with Dagster's step log (`journeys -v build`)")
    args = parser.parse_args()
    profile_build(args.home, args.top, args.by, args.full, args.verbose)


if __name__ == "__main__":
    main()
