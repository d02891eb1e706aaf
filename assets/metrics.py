"""Dagster assets of the metrics marts: one per table, keyed [layer, table], built by the same
functions `build_metrics` runs (transforms/metrics_model.py). The CLV fit writes two tables from one
fit, so it is one multi-asset whose materializations carry the fit's status sentence."""

from __future__ import annotations

from dagster import AssetSpec, MaterializeResult, multi_asset

from journeys import warehouse
from journeys.assets.resources import WarehouseResource
from journeys.build import PROGRESS
from journeys.assets.sql_model import asset_key, sql_model_asset
from journeys.publishing import record_build_step
from journeys.transforms import customers, runner
from journeys.transforms.metrics_model import MODELS, MetricModel
from journeys.transforms.params import resolve_as_of


def _single_table_asset(model: MetricModel):
    (table,) = model.tables

    def build(con, settings) -> int:
        return model.build(con, settings)[table]

    build.__doc__ = model.build.__doc__
    return sql_model_asset(table, model.deps, build)


_CLV = next(model for model in MODELS if model.tables == (customers.CUSTOMER_VALUE, customers.CLV_MODEL_PARAMS))
_clv_deps = [asset_key(d) for d in _CLV.deps]


@multi_asset(
    name="clv_fit",
    specs=[
        AssetSpec(asset_key(customers.CUSTOMER_VALUE), deps=_clv_deps, group_name="marts",
                  description=runner.parse_doc(runner.model_sql(customers.CUSTOMER_VALUE)).description),
        AssetSpec(asset_key(customers.CLV_MODEL_PARAMS), deps=_clv_deps, group_name="marts",
                  description=runner.parse_doc(customers.PARAMS_DOC).description),
    ],
    pool="warehouse",
)
def clv_fit(context, warehouse_resource: WarehouseResource):  # no context annotation: multi_asset rejects string annotations
    """Fits BG/NBD and Gamma-Gamma once; writes marts.customer_value and marts.clv_model_params."""
    settings = warehouse_resource.settings()
    with warehouse.writer(settings) as con:
        result = customers.build_clv(con, settings)
        record_build_step(con, [customers.CUSTOMER_VALUE, customers.CLV_MODEL_PARAMS], context.run.run_id,
                          resolve_as_of(con, settings))
    context.log.info(f"CLV: {result.status}")
    PROGRESS.info(f"{customers.CUSTOMER_VALUE}: {result.n_customers:,} rows; CLV: {result.status}")
    yield MaterializeResult(asset_key=asset_key(customers.CUSTOMER_VALUE),
                            metadata={"dagster/row_count": result.n_customers, "clv_method": result.clv_method,
                                      "clv_status": result.status})
    yield MaterializeResult(asset_key=asset_key(customers.CLV_MODEL_PARAMS),
                            metadata={"dagster/row_count": result.n_params, "clv_status": result.status})


metrics_assets = [
    *(_single_table_asset(model) for model in MODELS if len(model.tables) == 1),
    clv_fit,
]
"""Every metrics mart as a Dagster asset, in build order."""
