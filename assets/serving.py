"""Publishing: the last step of a build brings the read-only serving file up to the warehouse and swaps it in."""


from collections.abc import Sequence

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from journeys import publishing
from journeys.assets.resources import WarehouseResource
from journeys.build import PROGRESS

PUBLISHED = ["serving", "published_warehouse"]


def published_warehouse_asset(upstream: Sequence[AssetKey]):
    tables = [".".join(key.path) for key in upstream]

    @asset(key=PUBLISHED, deps=list(upstream), group_name="serving", pool="warehouse")
    def published_warehouse(context: AssetExecutionContext, warehouse_resource: WarehouseResource) -> MaterializeResult:
        """The read-only file analysts and BI tools open (journeys/serving_file.py), swapped in only
        after every upstream asset and its blocking checks succeeded in this same run (a partial run
        is refused)."""
        published = publishing.publish_build(warehouse_resource.settings(), context.run.run_id, tables)
        context.log.info(published.line())
        PROGRESS.info(published.line())
        return MaterializeResult(metadata={"path": str(published.path), "run_id": published.run_id,
                                           "as_of": str(published.as_of), "serving_file": published.how})

    return published_warehouse
