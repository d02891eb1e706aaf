"""The dbt models on Apache Spark: dbt-spark's `session` method, on a Spark session this process opens.

The first part of the Spark engine: the SQL models, the very files that run on DuckDB (what the
engines spell differently lives in macros/engine/, dispatched on the adapter), run on Spark over
Parquet inputs: the raw touchpoints and the tables the Python steps produce (the identity map,
the journey walk, the CLV fit, attribution). Every model is a full rebuild on Spark: its
incremental models become plain tables there (`is_incremental()` is false on a full refresh, and
Spark's Parquet tables have no DELETE for the person-by-person replacement).

Session settings every model relies on (one place, `SESSION_CONF`):
- TIMESTAMP means TIMESTAMP_NTZ, as DuckDB's TIMESTAMP has no time zone, and the session zone is
  UTC, so `date_trunc`, `unix_micros` and month arithmetic see the wall-clock times DuckDB sees;
- ANSI mode off: dbt-spark forces it off for its own statements, so this session's own SQL (the
  registration of the inputs) behaves the same;
- the in-memory catalog: dbt-spark asks for Hive support, whose Derby metastore would be written
  into the current folder. A cluster brings its own catalog instead.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from journeys.transforms.dbt_project import PROJECT_DIR, DbtError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

TARGET = "spark"
"""The output of transforms/profiles.yml that runs the models on Spark."""

SESSION_CONF = {
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "false",
    "spark.sql.catalogImplementation": "in-memory",
}


def spark_session(warehouse_dir: Path, master: str = "local[*]", driver_memory: str | None = None) -> SparkSession:
    """A Spark session for the models, its tables stored under warehouse_dir. Python workers run
    this interpreter (PYSPARK_PYTHON): otherwise they start the system python3, which lacks our
    dependencies."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise RuntimeError("the Spark engine needs the spark extra: pip install -e '.[spark]' (pyspark, "
                           "dbt-spark), and Java 17 on the PATH") from exc

    builder = SparkSession.builder
    builder = (builder.remote(master) if master.startswith("sc://") else builder.master(master)).appName("customer-journeys")
    conf = {**SESSION_CONF, "spark.sql.warehouse.dir": str(Path(warehouse_dir).resolve())}
    if driver_memory is not None and not master.startswith("sc://"):
        conf["spark.driver.memory"] = driver_memory  # read when this call starts the JVM
    for key, value in conf.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def register_parquet(spark: SparkSession, tables: Mapping[str, Path]) -> None:
    """Make each `schema.table` of `tables` a table over the Parquet file or folder it maps to (the
    models' sources), replacing one of that name. A Hive-partitioned folder (the raw lake's
    touchpoints: `event_date=…/channel=…/`) becomes a partitioned table with its partitions
    registered: Spark infers the partition columns but reads no partition the catalog lacks."""
    for qualified, location in tables.items():
        schema, _ = qualified.split(".")
        spark.sql(f"create database if not exists {schema}")
        spark.sql(f"drop table if exists {qualified}")
        spark.sql(f"create table {qualified} using parquet location '{Path(location).resolve()}'")
        if Path(location).is_dir() and any("=" in child.name for child in Path(location).iterdir()):
            spark.sql(f"alter table {qualified} recover partitions")


def lake_sources(lake: Path) -> dict[str, Path]:
    """The models' raw source in the raw lake (pipelines/lake.py), for register_parquet."""
    from journeys.pipelines.lake import TOUCHPOINTS_DIR

    return {"raw.touchpoints": Path(lake) / TOUCHPOINTS_DIR}


def run_models(variables: dict, work_dir: Path, select: Sequence[str] = (), exclude: Sequence[str] = ()) -> list[str]:
    """`dbt run --full-refresh` of the models (all, or `select`) on the process's Spark session,
    with `variables` as the dbt vars (dbt_project.dbt_vars: the settings the models read). Returns
    the `schema.table` of every model built, in dbt's order; raises DbtError naming each model that
    failed. dbt's compiled SQL and logs go under work_dir."""
    from dbt.cli.main import dbtRunner

    args = ["run", "--full-refresh", "--target", TARGET, "--project-dir", str(PROJECT_DIR),
            "--profiles-dir", str(PROJECT_DIR), "--target-path", str(Path(work_dir) / "target"),
            "--log-path", str(Path(work_dir) / "logs"), "--log-level", "none", "--vars", json.dumps(variables, default=str)]
    if select:
        args += ["--select", *select]
    if exclude:
        args += ["--exclude", *exclude]
    os.environ.setdefault("DO_NOT_TRACK", "1")
    result = dbtRunner().invoke(args)
    built, failed = [], []
    for node_result in getattr(result.result, "results", None) or []:
        node = node_result.node
        if str(node_result.status).lower() == "success":
            built.append(f"{node.schema}.{node.alias or node.name}")
        else:
            failed.append(f"{node.name} ({node.original_file_path}): {' '.join(str(node_result.message).split())}")
    if result.exception is not None:
        failed.insert(0, f"dbt could not run: {result.exception}")
    if failed or not result.success:
        raise DbtError("on Spark: " + ("; ".join(failed) or "dbt run failed"))
    return built
