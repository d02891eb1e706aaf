"""A small, real warehouse for the quality, serving and report tests: a simulated population
loaded into raw (the `journeys load` path) and built by the same transforms `journeys build`
runs, so every suite meets the real tables and columns."""

from __future__ import annotations

import shutil
from pathlib import Path

from journeys import warehouse
from journeys.settings import Settings, load_settings


def build_sample_warehouse(home: Path, customers: int = 150, days: int = 60, seed: int = 7,
                           publish: bool = True) -> Settings:
    from journeys.pipelines.loader import load_file
    from journeys.pipelines.sim_files import write_simulation
    from journeys.transforms import build_plan

    settings = load_settings(home=home)
    events = home.parent / f"{home.name}-events.parquet"
    write_simulation(events, customers, days, seed)
    load_file(settings, events)
    with warehouse.writer(settings) as con:
        build_plan.build(con, settings)
    if publish:
        publish_as_one_build(settings)
    return settings


def publish_as_one_build(settings: Settings, run_id: str = "test-build"):
    """Publish what the working file holds as one build: tests that build with the transforms
    directly (not through Dagster's build steps) record every derived table as built by `run_id`."""
    from journeys.publishing import publish_build, record_build_step
    from journeys.transforms.params import resolve_as_of

    with warehouse.writer(settings) as con:
        tables = [f"{schema}.{table}" for schema, table in con.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where schema_name in ('staging', 'intermediate', 'marts') order by all").fetchall()]
        record_build_step(con, tables, run_id, resolve_as_of(con, settings))
    return publish_build(settings, run_id, tables)


def copy_warehouse(source: Settings, home: Path) -> Settings:
    """A private copy of a built warehouse (working and published files), to break without harming others."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source.warehouse_path, home / source.warehouse_path.name)
    return load_settings(home=home)
