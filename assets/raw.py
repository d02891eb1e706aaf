"""Ingestion as an asset, so a schedule or the lag sensor can run "ingest, then rebuild"."""


from dagster import AssetExecutionContext, AssetSpec, MaterializeResult, multi_asset

from journeys.assets.resources import WarehouseResource
from journeys.pipelines.ingest import ingest

RAW_TOUCHPOINTS = ["raw", "touchpoints"]
RAW_DEAD_LETTERS = ["raw", "dead_letters"]


@multi_asset(
    specs=[
        AssetSpec(RAW_TOUCHPOINTS, group_name="raw",
                  description="One row per delivered, valid touchpoint (see journeys ingest)."),
        AssetSpec(RAW_DEAD_LETTERS, group_name="raw", description="One row per rejected message, with its bytes and reason."),
    ],
    pool="warehouse",
)
def raw_ingest(context: AssetExecutionContext, warehouse_resource: WarehouseResource):
    """Drains every touchpoints.* topic up to its current end (`journeys ingest --once`)."""
    report = ingest(warehouse_resource.settings(), once=True)
    context.log.info(report.line())
    yield MaterializeResult(asset_key=RAW_TOUCHPOINTS, metadata={"loaded": report.n_loaded, "consumed": report.n_consumed})
    yield MaterializeResult(asset_key=RAW_DEAD_LETTERS, metadata={"dead_lettered": report.n_dead_lettered})
