"""The dbt models give the same tables on Apache Spark as on DuckDB.

A simulated population (300 customers over 120 days) is loaded and built by the real build on
DuckDB. What the models read that is not a dbt model (their dbt sources: raw.touchpoints and the
tables the Python steps write) is copied to Parquet and registered on a real local Spark session
(local[2]); every dbt model is then run there by dbt-spark with the same dbt vars, and each
model's Spark table, written to Parquet, is compared with the DuckDB one: the same columns with
the same types, and the same rows (keys and counts exactly, doubles to a relative 1e-9).
"""

from __future__ import annotations

import duckdb
import pytest

from journeys import warehouse
from journeys.pipelines.loader import load_file
from journeys.pipelines.sim_files import write_simulation
from journeys.settings import load_settings
from journeys.transforms import build_plan, dbt_project, spark_models
from tests import helpers


@pytest.fixture(scope="module")
def on_both_engines(tmp_path_factory):
    """(DuckDB connection to the built warehouse, {model: its Spark table as a Parquet folder})."""
    root = tmp_path_factory.mktemp("spark")
    simulated = root / "events.parquet"
    write_simulation(simulated, 300, 120, 7)
    settings = load_settings(home=root / "home")
    load_file(settings, simulated)
    with warehouse.writer(settings) as con:
        build_plan.build(con, settings)
        variables = dbt_project.dbt_vars(con, settings)
        manifest = dbt_project.manifest(settings)
        sources = sorted({f"{s.schema}.{s.identifier}" for s in manifest.sources.values()})
        models = sorted(f"{n.schema}.{n.alias or n.name}" for n in manifest.nodes.values() if n.resource_type == "model")
        inputs = root / "inputs"
        inputs.mkdir()
        for source in sources:
            con.execute(f"copy {source} to '{inputs / source}.parquet' (format parquet)")
    # The same events loaded the Spark engine's way, into the raw lake
    lake_settings = settings.replace(engine="spark")
    load_file(lake_settings, simulated)
    spark = spark_models.spark_session(root / "spark-warehouse", master="local[2]")
    try:
        spark_models.register_parquet(spark, {source: inputs / f"{source}.parquet" for source in sources})
        built = spark_models.run_models(variables, root / "dbt-spark")
        outputs = {}
        for model in built:
            outputs[model] = root / "outputs" / model
            spark.table(model).write.parquet(str(outputs[model]))
        spark_models.register_parquet(spark, spark_models.lake_sources(lake_settings.lake_path))
        spark_models.run_models(variables, root / "dbt-spark-lake", select=["stg_touchpoints"])
        outputs["lake:staging.stg_touchpoints"] = root / "outputs" / "lake-staging"
        spark.table("staging.stg_touchpoints").write.parquet(str(outputs["lake:staging.stg_touchpoints"]))
    finally:
        spark.stop()
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    yield con, models, outputs
    con.close()


def test_every_model_runs_on_spark(on_both_engines):
    _, models, outputs = on_both_engines
    assert len(models) > 25 and "marts.journeys" in models and "staging.stg_touchpoints" in models
    assert sorted(name for name in outputs if not name.startswith("lake:")) == models


def test_every_model_has_the_same_columns_and_types_on_spark(on_both_engines):
    con, models, outputs = on_both_engines
    differing = {}
    for model in models:
        duck = con.execute(f"describe {model}").fetchall()
        spark = con.execute(f"describe select * from read_parquet('{outputs[model]}/*.parquet')").fetchall()
        if [row[:2] for row in duck] != [row[:2] for row in spark]:
            differing[model] = ([row[:2] for row in duck], [row[:2] for row in spark])
    assert differing == {}


def test_every_model_has_the_same_rows_on_spark(on_both_engines):
    con, models, outputs = on_both_engines
    assert con.execute("select count(*) from marts.journeys").fetchall()[0][0] > 250  # a real population
    differing = {model: rows[:3] for model in models
                 if (rows := helpers.differing_rows(con, model, f"read_parquet('{outputs[model]}/*.parquet')"))}
    assert differing == {}


def test_staging_on_spark_over_the_raw_lake_equals_duckdb_staging(on_both_engines):
    """Spark's raw source can be the raw lake `journeys load` writes with the Spark engine: staged
    there, the same events give DuckDB's staging rows, bar the columns naming the load itself."""
    con, _, outputs = on_both_engines
    lake_staging = f"read_parquet('{outputs['lake:staging.stg_touchpoints']}/*.parquet')"
    assert con.execute(f"select count(*) from {lake_staging}").fetchall()[0][0] > 10_000
    per_load = "exclude (ingested_at, load_id)"
    assert helpers.differing_rows(con, f"(select * {per_load} from staging.stg_touchpoints)",
                                  f"(select * {per_load} from {lake_staging})") == []
