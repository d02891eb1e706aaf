"""Warehouse commands: query, build."""

from __future__ import annotations

import sys

from journeys.settings import load_settings


def register(commands) -> None:
    p = commands.add_parser("query", help="run read-only SQL against the published warehouse")
    p.add_argument("sql")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.set_defaults(run=run_query)

    p = commands.add_parser("build", help="materialize every warehouse asset in-process, then publish")
    p.set_defaults(run=run_build)


def run_query(args) -> int:
    from journeys.query import WriteRefusedError, format_frame, run_query

    try:
        frame = run_query(load_settings(), args.sql)
    except WriteRefusedError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(format_frame(frame, args.format))
    return 0


def run_build(args) -> int:
    from journeys.build import build_warehouse

    result = build_warehouse(load_settings(), echo=print, verbose=args.verbose)
    return 0 if result.success else 1
