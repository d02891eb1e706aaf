"""`journeys dbt` under two writers and a kill: it waits its turn on the writer lock, and a killed
dbt run leaves nothing the next build does not repair or that readers could see."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from journeys import warehouse
from tests.helpers import file_rows
from tests.reliability.test_parse_cache import _waits_for_a_lock
from tests.sample_warehouse import build_sample_warehouse

pytestmark = pytest.mark.slow


def journeys_dbt(home, *dbt_args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "journeys.cli", "dbt", *dbt_args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env={**os.environ, "JOURNEYS_HOME": str(home)})


def dbt_leftovers(path) -> list[str]:
    """Tables dbt makes while it swaps a model in (x__dbt_tmp, x__dbt_backup)."""
    return [t for (t,) in file_rows(path, "select schema_name || '.' || table_name from duckdb_tables() "
                                          "where table_name like '%\\_\\_dbt\\_%' escape '\\'")]


def test_a_second_writer_makes_journeys_dbt_wait_then_it_runs(tmp_path, env_clean):
    """While another process writes, `journeys dbt build` waits on the writer lock (it does not fail
    or write beside it), then builds once the lock is free."""
    settings = build_sample_warehouse(tmp_path / "home", customers=30, days=20, publish=False)
    with warehouse.writer(settings):
        waiting = journeys_dbt(settings.home, "build", "--select", "stages")
        assert _waits_for_a_lock(waiting), "journeys dbt did not wait for the writer lock"
    out, _ = waiting.communicate(timeout=300)
    assert waiting.returncode == 0, out[-3000:]
    assert "Completed successfully" in out


def test_a_killed_journeys_dbt_is_repaired_by_the_next_build_and_never_published(tmp_path, env_clean):
    """kill -9 in the middle of `journeys dbt build`: the published warehouse is untouched (dbt never
    publishes), and the next `journeys build` succeeds and leaves no dbt temporary table behind."""
    settings = build_sample_warehouse(tmp_path / "home", customers=60, days=30)
    published_before = file_rows(settings.published_path, "select count(*), sum(n_touchpoints) from marts.journeys")
    running = journeys_dbt(settings.home, "build")
    started = 0
    for line in running.stdout:
        started += " START " in line
        if started >= 6:  # a few models in, one of them mid-swap or about to be
            break
    assert started >= 6, "dbt never got going"
    time.sleep(0.2)
    running.send_signal(signal.SIGKILL)
    running.wait(timeout=30)
    assert file_rows(settings.published_path, "select count(*), sum(n_touchpoints) from marts.journeys") == published_before
    assert dbt_leftovers(settings.published_path) == []
    rebuilt = subprocess.run([sys.executable, "-m", "journeys.cli", "build"], capture_output=True, text=True,
                             env={**os.environ, "JOURNEYS_HOME": str(settings.home)})
    assert rebuilt.returncode == 0, rebuilt.stdout[-3000:] + rebuilt.stderr[-3000:]
    assert dbt_leftovers(settings.warehouse_path) == []
    assert dbt_leftovers(settings.published_path) == []
    assert file_rows(settings.published_path, "select count(*), sum(n_touchpoints) from marts.journeys") == published_before
