"""The Dagster code location: `dagster dev` and `dagster asset materialize` load `defs`.

Lineage: raw (ingest) -> staging -> intermediate -> marts -> serving (published copy).
"""


from dagster import Definitions

from journeys.assets.jobs import (
    consumer_lag_sensor,
    daily_rebuild,
    hourly_ingest,
    hourly_rebuild,
    ingest_job,
    ingest_then_rebuild_job,
    rebuild_job,
)
from journeys.assets.raw import raw_ingest
from journeys.assets.resources import WarehouseResource
from journeys.assets.warehouse_assets import warehouse_assets as assets_for
from journeys.settings import load_settings

_settings = load_settings()
if _settings.engine == "spark":
    # One step builds, checks and publishes on one Spark session (assets/spark_build.py); its
    # checks are reported by that step, and raw's gates run in it.
    from journeys.assets.spark_build import spark_build_asset

    warehouse_assets = [spark_build_asset(_settings)]
    _checks: list = []
else:
    _assets = assets_for(_settings)
    warehouse_assets = [*_assets.tables, _assets.published]
    """Every table a build rebuilds (everything but raw, which only ingestion writes): the dbt
    models (custom_models_dir's included), the Python steps between them, then publishing."""
    from journeys.quality.checks import all_checks

    _checks = all_checks()


defs = Definitions(
    assets=[raw_ingest, *warehouse_assets],
    asset_checks=_checks,
    jobs=[ingest_job, rebuild_job, ingest_then_rebuild_job],
    schedules=[hourly_ingest, hourly_rebuild, daily_rebuild],
    sensors=[consumer_lag_sensor],
    resources={"warehouse_resource": WarehouseResource()},
)
