"""Warehouse commands: query, build."""

from __future__ import annotations

import sys

from journeys.settings import load_settings


def register(commands) -> None:
    p = commands.add_parser("query", help="run read-only SQL against the published warehouse")
    p.add_argument("sql", help="one or more SQL statements; the last one's result is printed")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table",
                   help="table: aligned columns, NULL shown as NULL; csv: quoted where needed, NULL as an empty field, "
                        "lists and structs as JSON; json: an array of objects, ISO-8601 UTC timestamps, NaN and infinity "
                        "as null (default: table)")
    p.set_defaults(run=run_query)

    p = commands.add_parser("build", help="materialize every warehouse asset in-process, then publish")
    p.add_argument("--full", action="store_true",
                   help="rebuild the incremental models from all of raw instead of adding what arrived since the last build")
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

    result = build_warehouse(load_settings(), echo=print, verbose=args.verbose, full=args.full)
    return 0 if result.success else 1
