"""The whole build on Apache Spark gives DuckDB's tables (engine spark, transforms/spark_build.py).

A demo-sized population (2,000 customers over 120 days, what `journeys demo` simulates) is loaded
twice: into a DuckDB warehouse, built by the DuckDB build, and into the raw lake with the Spark
engine, built on a real local Spark session (local[2]): the dbt models on dbt-spark, the journey
walk in Spark's tasks, the other Python steps on the driver. Every table of the build is then
compared: the same columns with the same types, and the same rows (keys and counts exactly,
doubles to a relative 1e-9), bar the two columns that name the load itself (ingested_at, load_id:
the two loads ran at different moments).
"""

from __future__ import annotations

import duckdb
import pytest

from journeys import warehouse
from journeys.pipelines.loader import load_file
from journeys.pipelines.sim_files import write_simulation
from journeys.settings import load_settings
from journeys.transforms import build_plan, spark_build
from tests import helpers

PER_LOAD = ("ingested_at", "load_id")


@pytest.fixture(scope="module")
def on_both_engines(tmp_path_factory):
    """(DuckDB connection to the DuckDB-built warehouse, every table built, {table: Spark's Parquet})."""
    root = tmp_path_factory.mktemp("spark")
    simulated = root / "events.parquet"
    write_simulation(simulated, 2000, 120, 7)
    on_duckdb = load_settings(home=root / "duckdb")
    load_file(on_duckdb, simulated)
    with warehouse.writer(on_duckdb) as con:
        built = build_plan.build(con, on_duckdb)
    on_spark = load_settings(home=root / "spark", engine="spark", spark_master="local[2]")
    load_file(on_spark, simulated)
    spark_built = spark_build.build_on_spark(on_spark)
    con = duckdb.connect(str(on_duckdb.warehouse_path), read_only=True)
    yield con, sorted(built), spark_built.tables
    con.close()


def _columns(con, relation: str) -> list[tuple[str, str]]:
    return [row[:2] for row in con.execute(f"describe select * from {relation}").fetchall()]


def test_every_table_is_built_on_spark(on_both_engines):
    _, tables, spark_tables = on_both_engines
    assert len(tables) > 35 and {"marts.journeys", "intermediate.int_journey_steps", "marts.attribution",
                                 "marts.customer_value"} <= set(tables)
    assert sorted(spark_tables) == tables


def test_every_table_has_the_same_columns_and_types_on_spark(on_both_engines):
    con, tables, spark_tables = on_both_engines
    differing = {table: (_columns(con, table), spark) for table in tables
                 if _columns(con, table) != (spark := _columns(con, f"read_parquet('{spark_tables[table]}/*.parquet')"))}
    assert differing == {}


def test_every_table_has_the_same_rows_on_spark(on_both_engines):
    con, tables, spark_tables = on_both_engines
    assert con.execute("select count(*) from marts.journeys").fetchall()[0][0] > 1500  # a real population
    differing = {}
    for table in tables:
        kept = ", ".join(f'"{name}"' for name, _ in _columns(con, table) if name not in PER_LOAD)
        spark = f"read_parquet('{spark_tables[table]}/*.parquet')"
        if rows := helpers.differing_rows(con, f"(select {kept} from {table})", f"(select {kept} from {spark})"):
            differing[table] = rows[:3]
    assert differing == {}
