"""Freshness with Dagster: a continuous ingest writes raw, and the `hourly_rebuild` schedule runs the
`rebuild` job, which builds what raw gained since the last build and publishes it. So the published
marts are at most one schedule interval behind what was ingested."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from journeys import warehouse
from journeys.pipelines.loader import load_file
from journeys.settings import load_settings
from journeys.transforms import incremental
from tests.helpers import file_rows

pytestmark = pytest.mark.slow


def csv_file(path, ids: list[str], day: int):
    """One customer's page views, one an hour from 10:00 on 2025-03-`day`."""
    pd.DataFrame({"event_id": ids, "occurred_at": [f"2025-03-{day:02d} {10 + i}:00:00" for i in range(len(ids))],
                  "channel": "web", "event_type": "page_view", "customer_id": "c1"}).to_csv(path, index=False)
    return path


def test_each_run_of_the_hourly_rebuild_schedule_publishes_what_raw_gained(tmp_path, monkeypatch):
    from dagster import DagsterInstance, build_schedule_context

    home = tmp_path / "home"
    monkeypatch.setenv("JOURNEYS_HOME", str(home))
    monkeypatch.delenv("JOURNEYS_CONFIG", raising=False)
    monkeypatch.delenv("JOURNEYS_AS_OF", raising=False)
    from journeys.assets import definitions

    schedule = definitions.defs.get_schedule_def("hourly_rebuild")
    assert schedule.cron_schedule == "15 * * * *" and schedule.job_name == "rebuild"
    tick = schedule.evaluate_tick(build_schedule_context(scheduled_execution_time=dt.datetime(2025, 3, 2, 11, 15)))
    (request,) = tick.run_requests
    job = definitions.defs.resolve_job_def(schedule.job_name)
    settings = load_settings(home=home)

    for batch, (ids, day) in enumerate([(["a", "b", "c"], 1), (["d", "e"], 2)]):
        load_file(settings, csv_file(tmp_path / f"{batch}.csv", ids, day))  # what the ingester committed
        run = job.execute_in_process(instance=DagsterInstance.ephemeral(), tags=request.tags, raise_on_error=False)
        assert run.success
        assert file_rows(settings.published_path, "select run_id from meta.published_build") == [(run.run_id,)]
        assert file_rows(settings.published_path, "select count(*), max(occurred_at) from marts.journey_steps") == [
            (3 if batch == 0 else 5, dt.datetime(2025, 3, day, 10 + len(ids) - 1))]
    with warehouse.writer(settings) as con:  # every incremental model took in the five raw rows
        absorbed = con.execute("select min(raw_rows_absorbed), count(*) from meta.incremental_state").fetchall()
        assert absorbed == [(5, len(incremental.INCREMENTAL_MODELS))]
        # a day later is within journey_gap_days (90): the new events extend the journey the first run published
        assert con.execute("select count(*), max(n_touchpoints) from marts.journeys").fetchall() == [(1, 5)]
