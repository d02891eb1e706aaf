"""Every dbt model as a Dagster asset keyed [schema, table] (dagster-dbt), its data tests as asset
checks. Dagster splits the one multi-asset into several steps around the Python assets that sit
between dbt models (assets/python_steps.py); each step runs `dbt build` in process on the models
it was given, under the writer lock (transforms/dbt_project.py).
"""


from collections.abc import Mapping
from typing import Any

from dagster import AssetExecutionContext, AssetKey
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, dbt_assets
from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage
from dbt_common.events.functions import msg_to_dict

from journeys import warehouse
from journeys.assets.resources import WarehouseResource
from journeys.build import PROGRESS
from journeys.publishing import record_build_step
from journeys.transforms import dbt_project
from journeys.transforms.params import resolve_as_of


class JourneysTranslator(DagsterDbtTranslator):
    """Asset keys [schema, table], the same as the warehouse's `schema.table` names, for models and
    for sources (raw, and the tables the Python assets write), so lineage joins up."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        name = dbt_resource_props.get("identifier") or dbt_resource_props.get("alias") or dbt_resource_props["name"]
        return AssetKey([dbt_resource_props["schema"], name])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return dbt_resource_props["schema"]


TRANSLATOR = JourneysTranslator(DagsterDbtTranslatorSettings(enable_asset_checks=True))


def make_dbt_assets(manifest: dict):
    @dbt_assets(manifest=manifest, dagster_dbt_translator=TRANSLATOR, pool="warehouse", name="dbt_models")
    def dbt_models(context: AssetExecutionContext, warehouse_resource: WarehouseResource):
        """`dbt build` of the selected models and their tests, in process, under the writer lock."""
        settings = warehouse_resource.settings()
        models = [_model_name(manifest, key) for key in context.selected_asset_keys]
        events: list = []
        with warehouse.writer(settings) as con:
            result = dbt_project.run_build(con, settings, models, callbacks=[events.append])
            built = result.built
            if built:
                record_build_step(con, [run.qualified for run in built], context.run.run_id, resolve_as_of(con, settings))
        for run in built:
            PROGRESS.info(f"{run.qualified}: {run.rows:,} rows")
        rows = {run.qualified: run.rows for run in built}
        for event in events:
            message = DbtCoreCliEventMessage(raw_event=msg_to_dict(event), event_history_metadata={})
            for dagster_event in message.to_default_asset_events(manifest=manifest, dagster_dbt_translator=TRANSLATOR,
                                                                 context=context):
                key = getattr(dagster_event, "output_name", None)
                if key is not None and rows:
                    qualified = key.replace("__", ".", 1) if "__" in key else None
                    if qualified in rows:
                        dagster_event = dagster_event.with_metadata({**dagster_event.metadata,
                                                                     "dagster/row_count": rows[qualified]})
                yield dagster_event
        result.raise_for_failures()

    return dbt_models


def _model_name(manifest: dict, key: AssetKey) -> str:
    schema, table = key.path
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and node["schema"] == schema and (node.get("alias") or node["name"]) == table:
            return node["name"]
    raise KeyError(f"no dbt model for asset {key.to_user_string()}")
