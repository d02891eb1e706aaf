"""The Python steps as Dagster assets, between the dbt models they read and the ones that read them
(transforms/python_steps.py). Each is a thin shell: open the writer, run the step, record it."""


from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult, multi_asset

from journeys import warehouse
from journeys.assets.resources import WarehouseResource
from journeys.build import PROGRESS
from journeys.publishing import record_build_step
from journeys.transforms.params import resolve_as_of
from journeys.transforms.python_steps import STEPS, PythonStep


def asset_key(qualified: str) -> AssetKey:
    return AssetKey(qualified.split("."))


def _descriptions(manifest: dict) -> dict[str, str]:
    """Each Python-written table's description, from models/sources.yml."""
    return {f"{s['schema']}.{s['name']}": s.get("description") or "" for s in manifest["sources"].values()}


def python_step_asset(step: PythonStep, descriptions: dict[str, str]):
    specs = [AssetSpec(asset_key(table), deps=[asset_key(d) for d in step.deps], group_name=table.split(".")[0],
                       description=descriptions.get(table) or step.build.__doc__)
             for table in step.tables]

    @multi_asset(name=step.name, specs=specs, pool="warehouse")
    def _step(context: AssetExecutionContext, warehouse_resource: WarehouseResource):
        settings = warehouse_resource.settings()
        with warehouse.writer(settings) as con:
            result = step.build(con, settings)
            record_build_step(con, list(step.tables), context.run.run_id, resolve_as_of(con, settings))
        notes = "; ".join(f"{k}: {v}" for k, v in result.notes.items())
        for i, table in enumerate(step.tables):
            PROGRESS.info(f"{table}: {result.rows[table]:,} rows" + (f"; {notes}" if notes and i == 0 else ""))
            yield MaterializeResult(asset_key=asset_key(table),
                                    metadata={"dagster/row_count": result.rows[table], **result.notes})

    return _step


def python_step_assets(manifest: dict) -> list:
    descriptions = _descriptions(manifest)
    return [python_step_asset(step, descriptions) for step in STEPS]
