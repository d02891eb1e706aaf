"""The quality suites as Dagster asset checks: one multi-asset check per table, beside its asset.

Each gate is one check (named after the gate) on the asset [layer, table]. ERROR gates are
blocking: when one fails, Dagster skips every asset downstream of the table, publishing
included, so analysts keep reading the last good published warehouse. WARN gates are reported
and block nothing. A gate that reads other tables (referential checks) waits for them as well.
One op per table (not per gate) keeps the number of steps, and of warehouse openings, small;
the checks read the working file under the single-writer lock.
"""

from __future__ import annotations

from dagster import AssetCheckKey, AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetKey, multi_asset_check

from journeys import warehouse
from journeys.assets.resources import WarehouseResource
from journeys.quality.gates import ERROR, Gate, run_gates
from journeys.quality.suites import gates_by_table

SEVERITY = {"ERROR": AssetCheckSeverity.ERROR, "WARN": AssetCheckSeverity.WARN}


def table_checks(table: str, gates: list[Gate]):
    """A multi-asset check running `gates`, all on `table`."""
    key = AssetKey(table.split("."))
    specs = [AssetCheckSpec(g.name, asset=key, description=f"[{g.severity}] {g.description}",
                            blocking=g.severity == ERROR, metadata={"severity": str(g.severity)},
                            additional_deps=[AssetKey(t.split(".")) for t in g.reads if not t.startswith("raw.")])
             for g in gates]

    @multi_asset_check(name=f"quality_{table.replace('.', '__')}", specs=specs, can_subset=True, pool="warehouse",
                       description=f"Great Expectations suite of {table}")
    def _checks(context, warehouse_resource: WarehouseResource):
        selected = {k.name for k in context.selected_asset_check_keys if k.asset_key == key}
        todo = [g for g in gates if g.name in selected]
        settings = warehouse_resource.settings()
        with warehouse.writer(settings) as con:
            results = run_gates(con, todo, settings)
        for result in results:
            if not result.passed:
                context.log.warning(result.line())
            yield AssetCheckResult(asset_key=key, check_name=result.gate.name, passed=result.passed,
                                   severity=SEVERITY[result.severity], metadata=result.metadata(),
                                   description=result.gate.description)

    return _checks


def all_checks() -> list:
    """Every suite as Dagster asset checks, for assets/definitions.py and `journeys build`."""
    return [table_checks(table, gates) for table, gates in gates_by_table().items()]


def check_key(table: str, name: str) -> AssetCheckKey:
    return AssetCheckKey(AssetKey(table.split(".")), name)
