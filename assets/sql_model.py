"""One Dagster asset per warehouse table: the asset only opens the writer and calls the build."""

from collections.abc import Callable, Sequence

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from journeys import warehouse
from journeys.assets.resources import WarehouseResource
from journeys.build import PROGRESS
from journeys.publishing import record_build_step
from journeys.settings import Settings
from journeys.transforms import runner
from journeys.transforms.params import resolve_as_of


def asset_key(qualified: str) -> AssetKey:
    return AssetKey(qualified.split("."))


def _description(qualified: str, build: Callable) -> str | None:
    """The SQL model's documented grain, else the build function's docstring."""
    if runner.model_path(qualified).exists():
        return runner.parse_doc(runner.model_sql(qualified)).description
    return (build.__doc__ or "").strip() or None


def sql_model_asset(qualified: str, deps: Sequence[str], build: Callable[..., int]):
    """An asset keyed [layer, table] that rebuilds `qualified` with `build(con, settings)` (which
    returns the row count): the same function `journeys build` and the tests run."""
    layer, _ = qualified.split(".")

    @asset(key=asset_key(qualified), deps=[asset_key(d) for d in deps], group_name=layer,
           description=_description(qualified, build), pool="warehouse")
    def _model(context: AssetExecutionContext, warehouse_resource: WarehouseResource) -> MaterializeResult:
        settings: Settings = warehouse_resource.settings()
        with warehouse.writer(settings) as con:
            n_rows = build(con, settings)
            record_build_step(con, [qualified], context.run.run_id, resolve_as_of(con, settings))
        context.log.info(f"{qualified}: {n_rows:,} rows")
        PROGRESS.info(f"{qualified}: {n_rows:,} rows")
        return MaterializeResult(metadata={"dagster/row_count": n_rows})

    return _model
