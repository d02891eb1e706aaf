"""Event backbone commands: broker, simulate, produce, load, ingest."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tqdm import tqdm

from journeys.settings import load_settings


def register(commands) -> None:
    p = commands.add_parser("broker", help="run the embedded Kafka-compatible broker (tansu) in the foreground")
    p.add_argument("--port", type=int, default=9092, help="TCP port on 127.0.0.1 to listen on (default: 9092)")
    p.set_defaults(run=run_broker)

    p = commands.add_parser("simulate", help="produce a simulated multi-channel population into Kafka")
    p.add_argument("--customers", type=int, default=2000, help="customers to simulate (default: 2000)")
    p.add_argument("--days", type=int, default=120, help="days simulated, from 2025-01-01 (default: 120)")
    p.add_argument("--seed", type=int, default=7, help="random seed: the same seed gives the same events (default: 7)")
    p.add_argument("--out", type=Path, help="write a Parquet file instead of producing to Kafka (default: produce to Kafka)")
    p.set_defaults(run=run_simulate)

    for name, helptext in (("produce", "replay a CSV, Parquet or JSON-lines file of touchpoints into Kafka"),
                           ("load", "bulk-load a file straight into raw.touchpoints (backfills)")):
        p = commands.add_parser(name, help=helptext)
        p.add_argument("--file", type=Path, required=True,
                       help="the file: .csv, .parquet, or JSON lines (.jsonl, .ndjson, .json); required")
        p.add_argument("--map", action="append", metavar="SRC=DST",
                       help="rename a file column to a contract column; repeatable (default: none, columns keep their names)")
        p.set_defaults(run=run_produce if name == "produce" else run_load)

    p = commands.add_parser("ingest", help="consume every touchpoints.* topic into the warehouse, exactly once")
    p.add_argument("--once", action="store_true", help="drain up to the end offsets seen at start, then exit")
    p.add_argument("--group-id", default="journeys-ingest", help="Kafka group for lag monitoring (default: journeys-ingest)")
    p.add_argument("--no-publish", action="store_true", help="do not refresh the published read-only copy")
    p.set_defaults(run=run_ingest)


def run_broker(args) -> int:
    from journeys.pipelines.broker import broker_command

    print(f"tansu on 127.0.0.1:{args.port} (memory storage). In other shells: "
          f"export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:{args.port}   (Ctrl-C stops it)", flush=True)
    os.execv(broker_command(args.port)[0], broker_command(args.port))


def run_simulate(args) -> int:
    from journeys.pipelines import simulator

    if args.out:
        from journeys.pipelines.sim_files import write_simulation

        n = write_simulation(args.out, args.customers, args.days, args.seed, progress=True)
        print(f"wrote {n:,} events to {args.out}")
        return 0
    from journeys.pipelines.producer import TouchpointProducer
    from journeys.pipelines.topics import ensure_topics

    population = simulator.simulate(args.customers, args.days, args.seed, progress=True)
    ensure_topics()
    with TouchpointProducer() as producer, tqdm(total=len(population.events), desc="produce", unit="ev") as bar:
        producer.send_all(population.events, progress=bar)
    print(f"produced {producer.n_sent:,} events ({producer.n_dead_lettered:,} dead-lettered) "
          f"for {args.customers:,} customers over {args.days} days")
    return 0


def run_produce(args) -> int:
    from journeys.pipelines.file_source import parse_renames
    from journeys.pipelines.replay import replay_file
    from journeys.pipelines.topics import ensure_topics

    ensure_topics()
    with tqdm(desc="produce", unit="row") as bar:
        report = replay_file(load_settings(), args.file, parse_renames(args.map), progress=bar)
    print(f"{args.file}: {report.n_rows:,} rows = sent {report.n_sent:,} + dead-lettered {report.n_dead_lettered:,}")
    return 0


def run_load(args) -> int:
    from journeys.pipelines.file_source import parse_renames
    from journeys.pipelines.loader import load_file

    settings = load_settings()
    result = load_file(settings, args.file, parse_renames(args.map))
    where = f"committed to the lake {settings.lake_path}" if settings.engine == "spark" else "committed to the working warehouse"
    print(f"{args.file}: {result.n_consumed:,} rows = loaded {result.n_loaded:,} + "
          f"dead-lettered {result.n_dead_lettered:,} (load {result.load_id}, {where})")
    return 0 if settings.engine == "spark" else _publish_raw(settings)


def _publish_raw(settings) -> int:
    """Ingest and load publish the raw layer only; what they committed stays committed if this fails."""
    from journeys.publishing import PublishError, publish_raw

    try:
        published = publish_raw(settings)
    except PublishError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if published is not None:
        print(published.line())
    return 0


def run_ingest(args) -> int:
    from journeys.pipelines.ingest import Ingester

    settings = load_settings()
    ingester = Ingester(settings, group_id=args.group_id)
    ingester.install_signal_handlers()
    with tqdm(desc="ingest", unit="msg", disable=not sys.stderr.isatty() and not args.once) as bar:
        report = ingester.run(once=args.once, progress=bar if args.once else None)
    print(report.line())
    for gap in report.gaps:
        print(f"warning: {gap}", file=sys.stderr)
    if args.no_publish or settings.engine == "spark" or (report.n_consumed == 0 and settings.published_path.exists()):
        return 0
    return _publish_raw(settings)
