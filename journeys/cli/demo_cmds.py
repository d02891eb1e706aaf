"""`journeys demo`."""

from __future__ import annotations

from journeys.settings import load_settings


def register(commands) -> None:
    p = commands.add_parser("demo", help="embedded broker + simulated population -> ingest -> build -> summary")
    p.add_argument("--customers", type=int, default=2000, help="customers to simulate (default: 2000)")
    p.add_argument("--days", type=int, default=120, help="days simulated, from 2025-01-01 (default: 120)")
    p.add_argument("--seed", type=int, default=7, help="random seed: the same seed gives the same events (default: 7)")
    p.set_defaults(run=run)


def run(args) -> int:
    from journeys.demo import run_demo

    return run_demo(load_settings(), args.customers, args.days, args.seed)
