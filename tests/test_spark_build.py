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

import datetime as dt
from dataclasses import dataclass

import duckdb
import pytest

from journeys import warehouse
from journeys.build import BuildResult, build_warehouse
from journeys.pipelines.loader import load_file
from journeys.pipelines.sim_files import write_simulation
from journeys.settings import load_settings
from journeys.transforms import build_plan
from tests import helpers

PER_LOAD = ("ingested_at", "load_id")


@dataclass
class BothEngines:
    con: duckdb.DuckDBPyConnection
    """The DuckDB-built warehouse, with the Spark build's published file attached as on_spark."""
    tables: list[str]
    """Every table the DuckDB build built."""
    on_spark: dict[str, str]
    """Each table built on Spark, by its name in on_spark."""
    blocked: BuildResult
    """A second Spark build of the same home, with an as_of before every event."""
    first_run: str
    lines: list[str]


@pytest.fixture(scope="module")
def both(tmp_path_factory):
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
    first = build_warehouse(on_spark, echo=lines.append)
    assert first.success, "\n".join(lines)
    blocked = build_warehouse(on_spark.replace(as_of=dt.datetime(2000, 1, 1)), echo=lines.append)
    con = duckdb.connect(str(on_duckdb.warehouse_path), read_only=True)
    con.execute(f"attach '{on_spark.published_path.resolve()}' as on_spark (read_only)")
    yield BothEngines(con, sorted(built), {t: f"on_spark.{t}" for t in first.row_counts if t.split(".")[0] != "serving"},
                      blocked, first.published["run_id"], lines)
    con.close()


def _columns(con, relation: str) -> list[tuple[str, str]]:
    return [row[:2] for row in con.execute(f"describe select * from {relation}").fetchall()]


def test_every_table_is_built_on_spark(both):
    assert len(both.tables) > 35 and {"marts.journeys", "intermediate.int_journey_steps", "marts.attribution",
                                      "marts.customer_value"} <= set(both.tables)
    assert sorted(both.on_spark) == both.tables


def test_every_table_has_the_same_columns_and_types_on_spark(both):
    differing = {table: (_columns(both.con, table), spark) for table in both.tables
                 if _columns(both.con, table) != (spark := _columns(both.con, both.on_spark[table]))}
    assert differing == {}


def test_every_table_has_the_same_rows_on_spark(both):
    assert both.con.execute("select count(*) from marts.journeys").fetchall()[0][0] > 1500  # a real population
    differing = {}
    for table in both.tables:
        kept = ", ".join(f'"{name}"' for name, _ in _columns(both.con, table) if name not in PER_LOAD)
        if rows := helpers.differing_rows(both.con, f"(select {kept} from {table})",
                                          f"(select {kept} from {both.on_spark[table]})"):
            differing[table] = rows[:3]
    assert differing == {}


def test_the_raw_mirror_holds_every_event_once(both):
    mirrored = "(select * exclude (ingested_at, load_id) from on_spark.raw.touchpoints)"
    loaded = "(select * exclude (ingested_at, load_id) from raw.touchpoints)"
    assert both.con.execute(f"select count(*) from {mirrored}").fetchall()[0][0] > 50_000
    assert helpers.differing_rows(both.con, loaded, mirrored) == []


def test_a_failed_gate_blocks_a_spark_build_as_it_blocks_a_duckdb_one(both):
    """The same gate that blocks the DuckDB build (tests/reliability/test_staging_checks.py) blocks
    the Spark one: the build fails, nothing is published, readers keep the first build."""
    failed = [(table, name) for table, name, passed, severity, _ in both.blocked.checks
              if not passed and severity == "ERROR"]
    assert ("staging.stg_touchpoints", "as_of_not_before_every_event") in failed, "\n".join(both.lines[-30:])
    assert not both.blocked.success and both.blocked.published is None
    assert both.con.execute("select run_id from on_spark.meta.published_build").fetchall() == [(both.first_run,)]
