"""One Dagster asset per SQL model file: the asset only opens the writer and runs the model."""


from collections.abc import Callable, Sequence

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from journeys import warehouse
from journeys.assets.resources import WarehouseResource
from journeys.settings import Settings
from journeys.transforms import runner
from journeys.transforms.params import model_params


def asset_key(qualified: str) -> AssetKey:
    return AssetKey(qualified.split("."))


def sql_model_asset(qualified: str, deps: Sequence[str], build: Callable[..., int] | None = None):
    """An asset keyed [layer, table] that (re)builds `qualified` from its SQL file.

    `build(con, settings)` replaces the default (run the SQL file) for tables computed partly in
    Python, such as identity stitching; it returns the row count.
    """
    layer, table = qualified.split(".")
    doc = runner.parse_doc(runner.model_sql(qualified)) if runner.model_path(qualified).exists() else None

    @asset(
        key=asset_key(qualified),
        deps=[asset_key(d) for d in deps],
        group_name=layer,
        description=doc.description if doc else (build.__doc__ or "").strip().splitlines()[0] if build else None,
        pool="warehouse",
    )
    def _model(context: AssetExecutionContext, warehouse_resource: WarehouseResource) -> MaterializeResult:
        settings: Settings = warehouse_resource.settings()
        with warehouse.writer(settings) as con:
            if build is None:
                n_rows = runner.run_model(con, qualified, model_params(con, settings))
            else:
                n_rows = build(con, settings)
        context.log.info(f"{qualified}: {n_rows:,} rows")
        return MaterializeResult(metadata={"dagster/row_count": n_rows})

    return _model
