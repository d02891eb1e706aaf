"""The Dagster code location: `dagster dev` and `dagster asset materialize` load `defs`.

Lineage: raw (ingest) -> staging -> intermediate -> marts -> serving (published copy).
"""


from dagster import Definitions

from journeys.assets.dbt_models import make_dbt_assets, manifest_dict
from journeys.assets.jobs import (consumer_lag_sensor, daily_rebuild, hourly_ingest, ingest_job, ingest_then_rebuild_job,
                                  rebuild_job)
from journeys.assets.python_steps import python_step_assets
from journeys.assets.raw import raw_ingest
from journeys.assets.resources import WarehouseResource
from journeys.assets.serving import published_warehouse_asset

_manifest = manifest_dict()
dbt_models = make_dbt_assets(_manifest)
warehouse_assets = [dbt_models, *python_step_assets(_manifest)]
"""Every table a build rebuilds (everything but raw, which only ingestion writes): the dbt models
and the Python steps between them."""

published_warehouse = published_warehouse_asset([key for a in warehouse_assets for key in a.keys])


def quality_checks() -> list:
    from journeys.quality.checks import all_checks

    return all_checks()


defs = Definitions(
    assets=[raw_ingest, *warehouse_assets, published_warehouse],
    asset_checks=quality_checks(),
    jobs=[ingest_job, rebuild_job, ingest_then_rebuild_job],
    schedules=[hourly_ingest, daily_rebuild],
    sensors=[consumer_lag_sensor],
    resources={"warehouse_resource": WarehouseResource()},
)
