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

_assets = assets_for(load_settings())
warehouse_assets = _assets.tables
"""Every table a build rebuilds (everything but raw, which only ingestion writes): the dbt models
(custom_models_dir's included) and the Python steps between them."""

published_warehouse = _assets.published


def quality_checks() -> list:
    from journeys.quality.checks import all_checks

    return all_checks()


defs = Definitions(
    assets=[raw_ingest, *warehouse_assets, published_warehouse],
    asset_checks=quality_checks(),
    jobs=[ingest_job, rebuild_job, ingest_then_rebuild_job],
    schedules=[hourly_ingest, hourly_rebuild, daily_rebuild],
    sensors=[consumer_lag_sensor],
    resources={"warehouse_resource": WarehouseResource()},
)
