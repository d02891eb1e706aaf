"""The whole build on Apache Spark gives DuckDB's tables (engine spark, transforms/spark_build.py).

A demo-sized population (2,000 customers over 120 days, what `journeys demo` simulates) is loaded
twice: into a DuckDB warehouse, built by the DuckDB build, and into the raw lake with the Spark
engine, built by `journeys build` on a real local Spark session (local[2]): the dbt models on
dbt-spark, the journey walk in Spark's tasks, the other Python steps on the driver, then taken
into the working file, checked and published. Every table of the published file is compared
with the DuckDB build's: the same columns with the same types, and the same rows (keys and counts
exactly, doubles to a relative 1e-9), bar the two columns that name the load itself (ingested_at,
load_id: the two loads ran at different moments). The raw mirror is compared too.
"""

from __future__ import annotations

import duckdb
import pytest

from journeys import warehouse
from journeys.build import build_warehouse
from journeys.pipelines.loader import load_file
from journeys.pipelines.sim_files import write_simulation
from journeys.settings import load_settings
from journeys.transforms import build_plan
from tests import helpers

PER_LOAD = ("ingested_at", "load_id")


@pytest.fixture(scope="module")
def on_both_engines(tmp_path_factory):
    """(DuckDB connection to the DuckDB-built warehouse with the Spark build's published file attached as
    on_spark, every table the DuckDB build built, {table: its name in on_spark})."""
    root = tmp_path_factory.mktemp("spark")
    simulated = root / "events.parquet"
    write_simulation(simulated, 2000, 120, 7)
    on_duckdb = load_settings(home=root / "duckdb")
    load_file(on_duckdb, simulated)
    with warehouse.writer(on_duckdb) as con:
        built = build_plan.build(con, on_duckdb)
    on_spark = load_settings(home=root / "spark", engine="spark", spark_master="local[2]")
    load_file(on_spark, simulated)
    lines: list[str] = []
    spark_build_result = build_warehouse(on_spark, echo=lines.append)
    assert spark_build_result.success, "\n".join(lines)
    con = duckdb.connect(str(on_duckdb.warehouse_path), read_only=True)
    published = str(on_spark.published_path.resolve())
    con.execute(f"attach '{published}' as on_spark (read_only)")
    yield con, sorted(built), {table: f"on_spark.{table}" for table in spark_build_result.row_counts}
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
                 if _columns(con, table) != (spark := _columns(con, spark_tables[table]))}
    assert differing == {}


def test_every_table_has_the_same_rows_on_spark(on_both_engines):
    con, tables, spark_tables = on_both_engines
    assert con.execute("select count(*) from marts.journeys").fetchall()[0][0] > 1500  # a real population
    differing = {}
    for table in tables:
        kept = ", ".join(f'"{name}"' for name, _ in _columns(con, table) if name not in PER_LOAD)
        spark = spark_tables[table]
        if rows := helpers.differing_rows(con, f"(select {kept} from {table})", f"(select {kept} from {spark})"):
            differing[table] = rows[:3]
    assert differing == {}


def test_the_raw_mirror_holds_every_event_once(on_both_engines):
    con, _, _ = on_both_engines
    mirrored = "(select * exclude (ingested_at, load_id) from on_spark.raw.touchpoints)"
    loaded = "(select * exclude (ingested_at, load_id) from raw.touchpoints)"
    assert con.execute(f"select count(*) from {mirrored}").fetchall()[0][0] > 50_000
    assert helpers.differing_rows(con, loaded, mirrored) == []
