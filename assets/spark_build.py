"""engine spark: the whole build as one Dagster step, with every table and every quality gate still
its own asset and check in the UI.

On Spark the build is one session (journeys/spark_warehouse.py): the tables are built there,
taken into the working file, checked and published in one op, because one Spark session serves
every stage and a Dagster step per table would start one each. So this multi-asset declares every
table of the build, the published file, and every gate as a check on its table: the lineage, row
counts and check results show as with the DuckDB engine. A failed ERROR gate fails the step, and
nothing is published.
"""

from __future__ import annotations

from dagster import AssetCheckResult, AssetCheckSpec, AssetKey, AssetSpec, Failure, MaterializeResult, multi_asset

from journeys.assets.raw import RAW_DEAD_LETTERS, RAW_TOUCHPOINTS
from journeys.assets.resources import WarehouseResource
from journeys.assets.serving import PUBLISHED
from journeys.build import PROGRESS
from journeys.quality.checks import SEVERITY
from journeys.quality.gates import ERROR
from journeys.quality.suites import all_gates
from journeys.settings import Settings
from journeys.transforms import build_plan


def spark_build_asset(settings: Settings):
    built = [t for step in build_plan.plan(settings) for t in (step if isinstance(step, list) else step.tables)]
    raw = [AssetKey(RAW_TOUCHPOINTS), AssetKey(RAW_DEAD_LETTERS)]
    specs = [AssetSpec(AssetKey(t.split(".")), deps=raw, group_name=t.split(".")[0]) for t in built]
    specs.append(AssetSpec(PUBLISHED, deps=[s.key for s in specs], group_name="serving", skippable=True,
                           description="The read-only file analysts and BI tools open (journeys/serving_file.py)."))
    check_specs = [AssetCheckSpec(g.name, asset=AssetKey(g.table.split(".")), description=f"[{g.severity}] {g.description}",
                                  blocking=g.severity == ERROR) for g in all_gates() if g.table in built]

    @multi_asset(name="spark_build", specs=specs, check_specs=check_specs, pool="warehouse")
    def spark_build(context, warehouse_resource: WarehouseResource):
        """Every table built on Spark from the raw lake, checked, published (journeys/spark_warehouse.py)."""
        from journeys import spark_warehouse

        result = spark_warehouse.build_and_publish(warehouse_resource.settings(), context.run.run_id, PROGRESS.info)
        for table, rows in result.row_counts.items():
            yield MaterializeResult(asset_key=AssetKey(table.split(".")), metadata={"dagster/row_count": rows})
        for check in result.checks:
            if check.gate.table in built:
                yield AssetCheckResult(asset_key=AssetKey(check.gate.table.split(".")), check_name=check.gate.name,
                                       passed=check.passed, severity=SEVERITY[check.severity],
                                       metadata=check.metadata(), description=check.gate.description)
            elif not check.passed:  # raw's gates: raw is ingestion's asset, so they are logged here
                context.log.warning(check.line())
        if result.blocked:
            raise Failure(f"{len(result.blocked)} blocking quality checks failed "
                          f"({', '.join(f'{c.gate.table}: {c.gate.name}' for c in result.blocked[:3])}); nothing published")
        PROGRESS.info(result.published.line())
        yield MaterializeResult(asset_key=PUBLISHED, metadata={
            "path": str(result.published.path), "run_id": result.published.run_id,
            "as_of": str(result.published.as_of), "serving_file": result.published.how})

    return spark_build
