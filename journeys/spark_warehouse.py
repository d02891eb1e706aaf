"""`journeys build` with the Spark engine: the lake mirrored into raw, every table built on Spark,
taken into the working DuckDB file, checked by the same quality gates, and published as always.

Why the tables come back into DuckDB: serving is unchanged. Analysts, BI tools, `journeys query`,
`journeys report` and `journeys docs` read the published DuckDB file whichever engine built it,
and the quality gates are the same SQL on the same tables, blocking the same way: a failed ERROR
gate leaves the build unrecorded, so publishing refuses it and readers keep the last good build.
Taking a table in is a Parquet scan into DuckDB (about a second per 10M narrow rows), far below
the build itself; its comments come from the same places as on DuckDB (the dbt models' YAML, the
Python steps' docstrings).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from journeys import publishing, warehouse
from journeys.pipelines.lake_import import import_lake
from journeys.quality.gates import ERROR, GateResult, run_gates
from journeys.settings import Settings
from journeys.transforms import dbt_project, spark_build, tables
from journeys.transforms.classification import build_int_journey_steps


@dataclass
class SparkWarehouse:
    run_id: str
    as_of: str
    row_counts: dict[str, int] = field(default_factory=dict)
    checks: list[GateResult] = field(default_factory=list)
    published: publishing.Published | None = None

    @property
    def blocked(self) -> list[GateResult]:
        return [c for c in self.checks if not c.passed and c.severity == ERROR]


def build_and_publish(settings: Settings, run_id: str, echo: Callable[[str], None] = lambda _: None) -> SparkWarehouse:
    """The whole Spark build as run `run_id` (the Dagster run's), under the caller's build lock."""
    if settings.custom_models_dir is not None:
        raise ValueError("engine spark does not build custom_models_dir's models yet: build them with "
                         "JOURNEYS_ENGINE=duckdb, or unset custom_models_dir")
    with warehouse.writer(settings) as con:
        echo(import_lake(con, settings.lake_path).line())
    built = spark_build.build_on_spark(settings)
    for name, seconds in built.seconds.items():
        echo(f"{seconds:7.1f} s on Spark: {name}")
    result = SparkWarehouse(run_id, built.as_of.isoformat())
    docs = _docs(settings, built.docs)
    with warehouse.writer(settings) as con:
        for table, folder in built.tables.items():
            result.row_counts[table] = _take_in(con, table, folder, docs.get(table))
            echo(f"{table}: {result.row_counts[table]:,} rows")
        result.checks = run_gates(con, _all_gates(), settings.replace(as_of=built.as_of))
        if not result.blocked:
            publishing.record_build_step(con, list(built.tables), result.run_id, built.as_of)
    if not result.blocked:
        result.published = publishing.publish_build(settings, result.run_id, list(built.tables))
    return result


def _take_in(con, table: str, folder: Path, doc: tables.ModelDoc | None) -> int:
    """Replace `table` in the working file with Spark's Parquet, in one transaction."""
    schema = table.split(".")[0]
    con.execute("begin transaction")
    try:
        con.execute(f"create schema if not exists {schema}")
        con.execute(f"create or replace table {table} as select * from read_parquet('{folder}/*.parquet')")
        if doc is not None:
            tables.apply_doc(con, table, doc)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return con.execute(f"select count(*) from {table}").fetchone()[0]


def _docs(settings: Settings, python_step_docs: dict[str, tables.ModelDoc]) -> dict[str, tables.ModelDoc]:
    """Each table's description and column comments: the dbt models' from the manifest, the Python
    steps' as their code wrote them (the journey walk's from its docstring, as on DuckDB)."""
    docs = {"intermediate.int_journey_steps": tables.parse_doc(build_int_journey_steps.__doc__), **python_step_docs}
    for node in dbt_project.manifest(settings).nodes.values():
        if node.resource_type == "model":
            docs[f"{node.schema}.{node.alias or node.name}"] = tables.ModelDoc(
                node.description or "", {name: column.description for name, column in node.columns.items()
                                         if column.description})
    return docs


def _all_gates():
    from journeys.quality.suites import all_gates

    return all_gates()
