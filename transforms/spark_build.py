"""The whole build on Apache Spark: raw from the lake, the dbt models on dbt-spark, the Python steps
beside them, every table written as Parquet for publishing (engine spark).

The order is build_plan's, the one `journeys build` runs on DuckDB: consecutive dbt models in one
dbt call, each Python step as soon as what it reads is built. Nothing is a second copy of the
logic:
- the dbt models are the same files (engine differences in macros/engine/, dispatched);
- the journey walk, the heaviest Python step, runs distributed: Spark hashes the stitched
  touchpoints by person, sorts each partition, and every task walks whole persons with the very
  functions the DuckDB build uses (classification.whole_persons, journey_steps and its
  materializing SQL, run by an in-memory DuckDB inside the task);
- the other Python steps (the stage model, identity stitching, the CLV fit, attribution, retention) run on
  the driver, each its usual code on a DuckDB that holds the step's inputs read from Spark as
  Parquet, its outputs then registered in Spark. DuckDB spills to disk under
  duckdb_memory_limit, so the driver's memory stays bounded, but not its disk or time: identity
  stitching is a union-find on the driver (about 100 bytes per identifier: a billion
  identifiers want a 100 GB driver; past that, connected components in Spark, not built), and
  of marts.journey_steps only the rows a step declares it reads cross over (PythonStep.reads_only:
  the conversions for the CLV fit, the subscription events for retention), but attribution reads
  every journey step and reduces them there (to per-journey touches and Markov moves). Computing
  those reductions in Spark, so that only aggregates reach the driver, is not built yet.

A Spark build is always a full one: Spark's Parquet tables have no DELETE for the person-by-person
replacement of the DuckDB engine's incremental models.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from journeys import warehouse
from journeys.pipelines.lake import TOUCHPOINTS_DIR, touchpoints_sql
from journeys.settings import Settings
from journeys.transforms import build_plan, classification, dbt_project, spark_models
from journeys.transforms.python_steps import PythonStep
from journeys.transforms.tables import ModelDoc

log = logging.getLogger(__name__)
JOURNEY_WALK = "int_journey_steps"


@dataclass
class SparkBuild:
    as_of: dt.datetime
    tables: dict[str, Path] = field(default_factory=dict)
    """Every table built, `schema.table` -> its Parquet folder."""
    seconds: dict[str, float] = field(default_factory=dict)
    """Per dbt call (its models joined by ',') or Python step."""
    docs: dict[str, ModelDoc] = field(default_factory=dict)
    """The comments the Python steps run on the driver gave their tables."""


def work_dir(settings: Settings) -> Path:
    return settings.home / "spark"


def build_on_spark(settings: Settings, tables_dir: Path | None = None) -> SparkBuild:
    """Build every table from the raw lake on a Spark session at settings.spark_master; write each
    to `tables_dir/<schema.table>/` (default: spark/tables under home)."""
    root = work_dir(settings)
    tables_dir = tables_dir or root / "tables"
    # Scratch of the previous build: Spark's in-memory catalog forgets its tables, not their folders,
    # and refuses to create a table over an existing one (every Spark build is a full one anyway).
    for scratch in (tables_dir, root / "spark-warehouse", root / "steps"):
        shutil.rmtree(scratch, ignore_errors=True)
    spark = spark_models.spark_session(root / "spark-warehouse", master=settings.spark_master,
                                       driver_memory=settings.spark_driver_memory)
    try:
        spark_models.register_parquet(spark, spark_models.lake_sources(settings.lake_path))
        settings = settings.replace(as_of=lake_as_of(settings))  # one as_of for every step, as on DuckDB
        build = SparkBuild(settings.as_of)
        variables = _variables(settings)
        for step in build_plan.plan(settings):
            started = time.perf_counter()
            if isinstance(step, list):
                spark_models.run_models(variables, root / "dbt", select=[t.split(".")[1] for t in step])
                name = ",".join(step)
            elif step.name == JOURNEY_WALK:
                _journey_walk(spark, settings, root / "steps")
                name = step.name
            else:
                build.docs.update(_on_driver(spark, settings, step, root / "steps"))
                name = step.name
            build.seconds[name] = time.perf_counter() - started
            log.info("%s on Spark in %.1f s", name, build.seconds[name])
        for table in (t for step in build_plan.plan(settings) for t in (step if isinstance(step, list) else step.tables)):
            build.tables[table] = tables_dir / table
            spark.table(table).write.mode("overwrite").parquet(str(build.tables[table]))
        return build
    finally:
        spark.stop()


def lake_as_of(settings: Settings) -> dt.datetime:
    """settings.as_of, else the latest occurred_at in the lake (as resolve_as_of takes raw's)."""
    if settings.as_of is not None:
        return settings.as_of
    has_files = any((settings.lake_path / TOUCHPOINTS_DIR).glob("*/*/*.parquet"))
    latest = duckdb.connect().execute(
        f"select max(occurred_at) from ({touchpoints_sql(settings.lake_path)})").fetchone()[0] if has_files else None
    if latest is None:
        raise ValueError(f"the raw lake {settings.lake_path} holds no touchpoints: run `journeys ingest` or "
                         "`journeys load --file ...` with JOURNEYS_ENGINE=spark first")
    return latest


def _variables(settings: Settings) -> dict:
    with _driver_duckdb(settings) as con:
        return dbt_project.dbt_vars(con, settings)


class _driver_duckdb:
    """A DuckDB on the driver (in memory, or a scratch file: the steps' own bookkeeping, such as
    the incremental fingerprint, locates the database's folder), under the warehouse's settings."""

    def __init__(self, settings: Settings, path: Path | None = None):
        self.con = warehouse.configure(duckdb.connect(":memory:" if path is None else str(path)), settings)

    def __enter__(self) -> duckdb.DuckDBPyConnection:
        return self.con

    def __exit__(self, *_):
        self.con.close()


def _on_driver(spark, settings: Settings, step: PythonStep, scratch: Path) -> dict[str, ModelDoc]:
    """Run `step` as on DuckDB, on its inputs read from Spark; register its outputs in Spark.
    Returns the comments the step gave its tables."""
    folder = scratch / step.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    with _driver_duckdb(settings, folder / "step.duckdb") as con:
        for table in step.deps:
            location = folder / "in" / table
            rows = spark.table(table)
            if table in step.reads_only:  # only what the step reads crosses to the driver
                rows = rows.where(step.reads_only[table])
            rows.write.mode("overwrite").parquet(str(location))
            schema = table.split(".")[0]
            con.execute(f"create schema if not exists {schema}")
            con.execute(f"create table {table} as select * from read_parquet('{location}/*.parquet')")
        step.build(con, settings)
        outputs, docs = {}, {}
        for table in step.tables:
            outputs[table] = folder / "out" / f"{table}.parquet"
            outputs[table].parent.mkdir(parents=True, exist_ok=True)
            con.execute(f"copy {table} to '{outputs[table]}' (format parquet)")
            docs[table] = _doc_of(con, table)
    spark_models.register_parquet(spark, outputs)
    return docs


def _doc_of(con: duckdb.DuckDBPyConnection, table: str) -> ModelDoc:
    schema, name = table.split(".")
    description = con.execute("select comment from duckdb_tables() where schema_name = ? and table_name = ?",
                              [schema, name]).fetchone()[0]
    columns = con.execute("select column_name, comment from duckdb_columns() where schema_name = ? and table_name = ? "
                          "and comment is not null", [schema, name]).fetchall()
    return ModelDoc(description or "", dict(columns))


def _journey_walk(spark, settings: Settings, scratch: Path) -> None:
    """intermediate.int_journey_steps, walked in Spark's tasks: persons hashed to partitions, each
    partition sorted in journey order and walked a batch of whole persons at a time."""
    gap_days, batch_rows = settings.journey_gap_days, settings.journey_walk_batch_rows
    touchpoints = spark.sql(classification.WALK_INPUT.format(persons="true"))
    ordered = touchpoints.repartition("person_id").sortWithinPartitions(*classification.WALK_ORDER)
    with _driver_duckdb(settings) as con:  # the output's schema: the same SQL over no rows
        empty = ordered.limit(0).toArrow()
        schema = classification.materialize_walk(con, empty, gap_days).schema

    def walk_partition(batches):
        import pyarrow as pa

        reader = pa.RecordBatchReader.from_batches(empty.schema, (b.cast(empty.schema) for b in batches))
        con = duckdb.connect()
        try:
            for persons in classification.whole_persons(reader, batch_rows):
                if persons.num_rows:
                    yield from classification.materialize_walk(con, persons, gap_days).cast(schema).to_batches()
        finally:
            con.close()

    location = scratch / JOURNEY_WALK
    shutil.rmtree(location, ignore_errors=True)
    from pyspark.sql.pandas.types import from_arrow_schema

    ordered.mapInArrow(walk_partition, from_arrow_schema(schema)).write.parquet(str(location))
    spark_models.register_parquet(spark, {"intermediate.int_journey_steps": location})
