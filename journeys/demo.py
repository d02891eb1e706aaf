"""`journeys demo`: broker, simulated population, ingestion, build, summary — on a laptop, in about a minute."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from tqdm import tqdm

from journeys.settings import Settings

DEMO_MARKER = ".journeys-demo"


def reset_demo_home(settings: Settings) -> None:
    """The embedded broker forgets everything when it stops, so a demo starts from an empty warehouse.
    Only a warehouse an earlier demo made is ever deleted."""
    marker = settings.home / DEMO_MARKER
    if settings.warehouse_path.exists() and not marker.exists():
        raise RuntimeError(f"{settings.home} holds a warehouse that `journeys demo` did not create; "
                           "set JOURNEYS_HOME to another folder for the demo")
    for path in (settings.warehouse_path, settings.warehouse_path.with_suffix(".duckdb.wal"), settings.published_dir):
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    settings.home.mkdir(parents=True, exist_ok=True)
    marker.write_text("This folder's warehouse was made by `journeys demo` and is replaced by the next demo.\n")


def run_demo(settings: Settings, customers: int, days: int, seed: int, echo: Callable[[str], None] = print) -> int:
    from journeys.build import build_warehouse
    from journeys.pipelines import simulator
    from journeys.pipelines.broker import kafka_available
    from journeys.pipelines.ingest import Ingester
    from journeys.pipelines.producer import TouchpointProducer
    from journeys.pipelines.topics import ensure_topics
    from journeys.report import build_report
    from journeys.summary import print_summary

    reset_demo_home(settings)
    with kafka_available() as bootstrap:
        echo(f"Kafka: {bootstrap}")
        ensure_topics()
        population = simulator.simulate(customers, days, seed, progress=True)
        with TouchpointProducer() as producer, tqdm(total=len(population.events), desc="produce", unit="ev") as bar:
            producer.send_all(population.events, progress=bar)
        echo(f"produced {producer.n_sent:,} events for {customers:,} customers over {days} days (seed {seed})")
        with tqdm(desc="ingest", unit="msg") as bar:
            report = Ingester(settings).run(once=True, progress=bar)
        echo("ingest: " + report.line())
    echo("build:")
    build = build_warehouse(settings, echo=echo)
    if not build.success:
        return 1
    print_summary(settings, echo=echo)
    out = Path("report.html").resolve()
    build_report(settings, out, progress=True)
    echo(f"\nReport: {out}")
    echo("Query the warehouse: journeys query \"select journey_type, count(*) from marts.journeys group by 1\"")
    echo("The journey map per persona: journeys map   (--persona b2c, --format table|csv|json|html)")
    return 0
