"""`journeys build` failures read as one line per cause and a hint; Dagster's traceback only under -v."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest

pytestmark = pytest.mark.slow


def journeys(home, *argv, **env):
    return subprocess.run([sys.executable, "-m", "journeys.cli", *argv], capture_output=True, text=True,
                          env={**os.environ, "JOURNEYS_HOME": str(home), **env})


def test_build_on_an_empty_home_says_nothing_was_ingested(tmp_path):
    """No traceback, exit 1, and the commands that would help."""
    result = journeys(tmp_path / "home", "build")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"journeys build: error: nothing ingested yet in {tmp_path / 'home' / 'warehouse.duckdb'}: run `journeys ingest` "
        "or `journeys load --file ...` first, or `journeys demo` to try it out"]
    assert "Traceback" not in result.stdout + result.stderr


def test_a_failed_blocking_check_is_one_line_without_dagster_tracebacks(tmp_path):
    """An as_of before every event: the check's message once, the hint, no Dagster log lines or traceback;
    with -v the full Dagster log is there."""
    home = tmp_path / "home"
    pd.DataFrame({"event_id": ["a", "b"], "occurred_at": ["2025-03-01 10:00:00", "2025-03-02 10:00:00"],
                  "channel": "web", "event_type": "page_view", "customer_id": "c1"}).to_csv(tmp_path / "e.csv", index=False)
    assert journeys(home, "load", "--file", str(tmp_path / "e.csv")).returncode == 0
    quiet = journeys(home, "build", JOURNEYS_AS_OF="1970-01-01")
    assert quiet.returncode == 1
    out = quiet.stdout + quiet.stderr
    assert "Traceback" not in out and "Stack Trace" not in out and " - dagster - " not in out
    assert out.count("is before every event") == 1
    assert "build FAILED; the published warehouse is unchanged" in out and "journeys -v build" in out
    loud = journeys(home, "-v", "build", JOURNEYS_AS_OF="1970-01-01")
    assert loud.returncode == 1 and "DagsterAssetCheckFailedError" in loud.stdout + loud.stderr


def test_with_dagster_home_a_cli_build_is_in_the_dagster_history(tmp_path):
    """DAGSTER_HOME set: `journeys build` records its run, materializations and check results in that
    instance, which is what `dagster dev` shows."""
    from dagster import AssetKey, DagsterInstance, DagsterRunStatus

    home, dagster_home = tmp_path / "home", tmp_path / "dagster"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    pd.DataFrame({"event_id": ["a", "b"], "occurred_at": ["2025-03-01 10:00:00", "2025-03-01 11:00:00"],
                  "channel": "web", "event_type": ["page_view", "purchase"], "customer_id": "c1",
                  "revenue": [None, 20.0], "currency": [None, "EUR"]}).to_csv(tmp_path / "e.csv", index=False)
    assert journeys(home, "load", "--file", str(tmp_path / "e.csv")).returncode == 0
    built = journeys(home, "build", DAGSTER_HOME=str(dagster_home))
    assert built.returncode == 0, built.stdout + built.stderr
    instance = DagsterInstance.from_config(str(dagster_home))
    try:
        (run,) = instance.get_runs()
        assert run.status == DagsterRunStatus.SUCCESS
        assert run.tags["journeys/trigger"] == "journeys build"
        record = instance.get_latest_materialization_event(AssetKey(["marts", "journeys"]))
        assert record is not None and record.run_id == run.run_id
    finally:
        instance.dispose()


def test_a_verbose_build_lists_its_steps_longest_first_with_the_tables_each_wrote(tmp_path):
    """`journeys -v build` ends with every step's duration, longest first; a dbt step is named by
    the tables it built, and the durations add up to the total it prints."""
    import re

    home = tmp_path / "home"
    pd.DataFrame({"event_id": ["a", "b"], "occurred_at": ["2025-03-01 10:00:00", "2025-03-01 11:00:00"],
                  "channel": "web", "event_type": ["page_view", "purchase"], "customer_id": "c1",
                  "revenue": [None, 20.0], "currency": [None, "EUR"]}).to_csv(tmp_path / "e.csv", index=False)
    assert journeys(home, "load", "--file", str(tmp_path / "e.csv")).returncode == 0
    built = journeys(home, "-v", "build")
    assert built.returncode == 0, built.stdout + built.stderr
    # verbose is ours and Dagster's progress, not the libraries' registrations and migrations
    noise = [line for line in (built.stdout + built.stderr).splitlines()
             if re.search(r" (DEBUG|INFO) (great_expectations|alembic)", line)]
    assert noise == [], noise[:5]
    listing = built.stdout.split("steps by duration (", 1)[1].splitlines()
    total = float(listing[0].split(" s in all")[0].replace(",", ""))
    steps = [re.fullmatch(r"\s+([\d,.]+) s  (.+)", line) for line in listing[1:]]
    steps = [(float(m[1].replace(",", "")), m[2]) for m in steps[:next((i for i, m in enumerate(steps) if not m), None)]]
    seconds = [s for s, _ in steps]
    assert seconds == sorted(seconds, reverse=True) and len(steps) > 20
    assert abs(sum(seconds) - total) <= 0.05 * len(steps) + 0.1  # each shown to 0.1 s
    names = [name for _, name in steps]
    assert any(re.fullmatch(r"dbt_models\w* \(.*marts\.journey_steps.*\)", name) for name in names), names
    assert "int_journey_steps (intermediate.int_journey_steps)" in names and "serving__published_warehouse" in names, names
