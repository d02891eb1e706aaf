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
    from journeys.transforms.cx_model import build_cx
    from journeys.transforms.journey_model import build_journey_model
    from journeys.transforms.metrics_model import build_metrics

    settings = load_settings(home=home)
    events = home.parent / f"{home.name}-events.parquet"
    write_simulation(events, customers, days, seed)
    load_file(settings, events)
    with warehouse.writer(settings) as con:
        build_journey_model(con, settings)
        build_metrics(con, settings)
        build_cx(con, settings)
    if publish:
        warehouse.publish(settings)
    return settings


def copy_warehouse(source: Settings, home: Path) -> Settings:
    """A private copy of a built warehouse (working and published files), to break without harming others."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source.warehouse_path, home / source.warehouse_path.name)
    return load_settings(home=home)
