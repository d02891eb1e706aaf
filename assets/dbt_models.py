"""Every dbt model as a Dagster asset keyed [schema, table] (dagster-dbt), its data tests as asset
checks. There is one multi-asset per gate level (`gate_levels`), and Dagster splits each into several steps
around the Python assets that sit between dbt models (assets/python_steps.py); each step runs `dbt
build` in process on the models it was given, under the writer lock (transforms/dbt_project.py).
"""


from collections.abc import Mapping
from typing import Any

from dagster import AssetExecutionContext, AssetKey, Output
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


def gate_levels(manifest: dict, gated: set[str]) -> dict[str, int]:
    """Each model's level: how many tables with a blocking (ERROR) Great Expectations gate lie on
    its longest path from raw. A gate runs after its table's step, so a model must not be built in
    the same dbt call as a gated table it reads: models of one level go to dbt together, the next
    level only once the gates before it passed (e.g. the staging gates stop every intermediate model)."""
    models = {uid: node for uid, node in manifest["nodes"].items() if node["resource_type"] == "model"}
    qualified = {uid: f"{node['schema']}.{node.get('alias') or node['name']}" for uid, node in models.items()}
    levels: dict[str, int] = {}

    def level(uid: str) -> int:
        if uid not in levels:
            parents = [p for p in models[uid]["depends_on"]["nodes"] if p in models]
            levels[uid] = max((level(p) + (qualified[p] in gated) for p in parents), default=0)
        return levels[uid]

    return {models[uid]["name"]: level(uid) for uid in models}


def make_dbt_assets(manifest: dict) -> list:
    """One dbt multi-asset per gate level (Dagster splits each further around the Python steps)."""
    from journeys.quality.suites import all_gates

    gated = {gate.table for gate in all_gates() if str(gate.severity) == "ERROR"}
    by_level: dict[int, list[str]] = {}
    for name, level in gate_levels(manifest, gated).items():
        by_level.setdefault(level, []).append(name)
    return [_dbt_asset(manifest, " ".join(sorted(names)), f"dbt_models_{level}")
            for level, names in sorted(by_level.items())]


def _dbt_asset(manifest: dict, select: str, name: str):
    @dbt_assets(manifest=manifest, dagster_dbt_translator=TRANSLATOR, pool="warehouse", name=name, select=select)
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
        for mode in result.modes:
            PROGRESS.info(mode.line())
        for run in built:
            PROGRESS.info(f"{run.qualified}: {run.rows:,} rows")
        rows = {run.qualified: run.rows for run in built}
        for event in events:
            message = DbtCoreCliEventMessage(raw_event=msg_to_dict(event), event_history_metadata={})
            for dagster_event in message.to_default_asset_events(manifest=manifest, dagster_dbt_translator=TRANSLATOR,
                                                                 context=context):
                if isinstance(dagster_event, Output):  # a model built: add its row count
                    qualified = ".".join(context.asset_key_for_output(dagster_event.output_name).path)
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
