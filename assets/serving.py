"""Publishing: the last step of a build copies the warehouse to its read-only serving file."""


from collections.abc import Sequence

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from journeys import warehouse
from journeys.assets.resources import WarehouseResource

PUBLISHED = ["serving", "published_warehouse"]


def published_warehouse_asset(upstream: Sequence[AssetKey]):
    @asset(key=PUBLISHED, deps=list(upstream), group_name="serving", pool="warehouse")
    def published_warehouse(context: AssetExecutionContext, warehouse_resource: WarehouseResource) -> MaterializeResult:
        """The read-only copy analysts and BI tools open, swapped in whole only after every upstream
        asset and its blocking checks succeeded."""
        settings = warehouse_resource.settings()
        path = warehouse.publish(settings)
        context.log.info(f"published {path}")
        return MaterializeResult(metadata={"path": str(path)})

    return published_warehouse
