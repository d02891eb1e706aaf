"""Jobs, schedules and the consumer-lag sensor: "ingest, then rebuild", on a clock or on demand."""


import logging

from dagster import (
    AssetKey,
    AssetSelection,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    ScheduleDefinition,
    SensorEvaluationContext,
    SkipReason,
    define_asset_job,
    sensor,
)

from journeys.assets.raw import RAW_DEAD_LETTERS, RAW_TOUCHPOINTS
from journeys.pipelines.ingest import DEFAULT_GROUP_ID
from journeys.settings import load_settings

WRITES_WAREHOUSE = {"journeys/writes_warehouse": "true"}
"""dagster.yaml lets one run with this tag run at a time: the warehouse has a single writer."""

_raw = AssetSelection.assets(AssetKey(RAW_TOUCHPOINTS), AssetKey(RAW_DEAD_LETTERS))

ingest_job = define_asset_job("ingest", selection=_raw, tags=WRITES_WAREHOUSE,
                              description="Drain every touchpoints.* topic into raw (journeys ingest --once).")
rebuild_job = define_asset_job("rebuild", selection=AssetSelection.all() - _raw, tags=WRITES_WAREHOUSE,
                               description="Rebuild staging, intermediate and marts from raw, check, then publish.")
ingest_then_rebuild_job = define_asset_job("ingest_then_rebuild", selection=AssetSelection.all(), tags=WRITES_WAREHOUSE,
                                           description="Ingest, then rebuild and publish.")

hourly_ingest = ScheduleDefinition(name="hourly_ingest", job=ingest_job, cron_schedule="5 * * * *",
                                   default_status=DefaultScheduleStatus.STOPPED)
daily_rebuild = ScheduleDefinition(name="daily_ingest_then_rebuild", job=ingest_then_rebuild_job, cron_schedule="30 2 * * *",
                                   default_status=DefaultScheduleStatus.STOPPED)
hourly_rebuild = ScheduleDefinition(
    name="hourly_rebuild", job=rebuild_job, cron_schedule="15 * * * *", default_status=DefaultScheduleStatus.STOPPED,
    description="Build what raw gained since the last build (incremental after the first) and publish: beside a "
                "continuous `journeys ingest`, the published marts are at most an hour behind.")


@sensor(job=ingest_job, minimum_interval_seconds=60, default_status=DefaultSensorStatus.STOPPED)
def consumer_lag_sensor(context: SensorEvaluationContext):
    """Starts an ingest run when the ingester's Kafka lag exceeds `lag_sensor_threshold` messages."""
    from journeys.pipelines.lag import consumer_lag

    threshold = load_settings().lag_sensor_threshold
    try:
        lag = sum(consumer_lag(DEFAULT_GROUP_ID).values())
    except Exception as exc:  # Kafka unreachable: say so in the UI instead of failing the daemon
        logging.getLogger(__name__).warning("lag sensor: %s", exc)
        return SkipReason(f"cannot read consumer lag: {exc}")
    if lag <= threshold:
        return SkipReason(f"lag {lag:,} <= threshold {threshold:,}")
    # One request per cursor value: while that run is queued, the same lag does not queue another.
    run_key = f"lag-{context.cursor or 0}"
    context.update_cursor(str(int(context.cursor or 0) + 1))
    return RunRequest(run_key=run_key, tags={"journeys/trigger": f"lag {lag}"})
