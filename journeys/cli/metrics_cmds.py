"""Metrics commands: funnel (ad-hoc step funnels over the published warehouse).

`journeys funnel` imports neither pandas nor the funnel's modules before it runs, and prints its
table itself: a whole run is mostly the query (README, Benchmarks)."""

from __future__ import annotations

import csv
import io
import json
import math
import sys

from journeys.settings import load_settings, parse_as_of

ORDERS = ("ordered", "strict", "any")  # transforms.funnel_spec.ORDERS, kept here so --help imports nothing


def register(commands) -> None:
    p = commands.add_parser(
        "funnel",
        help="ad-hoc step funnel: counts, conversion, drop-off and time per step (unit: person)",
        description=(
            "Persons (or journeys, --per journey) who did the steps, as of the published warehouse, with "
            "PostHog's and Mixpanel's rules. Every step-1 event starts an attempt; every step must happen "
            "within --window of the attempt's first event. ordered: steps in order, other events allowed in "
            "between; strict: in order with no other event in between; any: step k counts those who did any k "
            "of the steps, in any order. An --exclude event between the steps (inside the window) discards "
            "the attempt; a person with no attempt left is removed from every step. A person counts by their "
            "deepest attempt. See transforms/funnel.py for the exact rules."
        ),
    )
    p.add_argument("--steps", required=True,
                   help="comma-separated event types in funnel order, e.g. product_view,add_to_cart,purchase")
    p.add_argument("--window", default="7d", help="conversion window from the first step: 7d, 12h, 30m, 90s, 2w (default 7d)")
    p.add_argument("--order", choices=ORDERS, default="ordered", help="step order rule (default ordered)")
    p.add_argument("--exclude", action="append", default=[], metavar="EVENT[:FROM-TO]",
                   help="discard attempts with this event between steps FROM and TO (numbered from 1; default the "
                        "whole funnel); repeatable or comma-separated, e.g. support_call:1-2")
    p.add_argument("--by", metavar="COLUMN", help="break down by a column of marts.journey_steps or marts.journeys "
                                                   "(channel, campaign, journey_type, persona, ...): the first value "
                                                   "on the person's step events")
    p.add_argument("--per", choices=("person", "journey"), default="person", help="unit of analysis (default person)")
    p.add_argument("--since", help="only events (so attempts) on or after this date/time")
    p.add_argument("--as-of", help="ignore events after this date/time (default: settings.as_of, else everything)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.set_defaults(run=run_funnel)


def _option_time(option: str, value: str):
    """A date (2025-03-01) or ISO timestamp; the error names the option."""
    try:
        return parse_as_of(value)
    except ValueError:
        raise ValueError(f"{option} {value!r}: expected a date like 2025-03-01 or an ISO timestamp like "
                         "2025-03-01T09:30:00Z") from None


def run_funnel(args) -> int:
    from journeys import warehouse
    from journeys.transforms.funnel import compute_funnel, parse_window

    settings = load_settings()
    as_of = _option_time("--as-of", args.as_of) if args.as_of else settings.as_of
    since = _option_time("--since", args.since) if args.since else None
    if since is not None and args.since and len(args.since.strip()) == 10:
        since = since.replace(hour=0, minute=0, second=0, microsecond=0)  # a date means from its start
    steps = [s for s in args.steps.split(",") if s.strip()]
    exclude = [e for item in args.exclude for e in item.split(",") if e.strip()]
    con = warehouse.reader(settings)
    try:
        table = compute_funnel(con, steps, window=args.window, order=args.order, exclude=exclude, by=args.by,
                               as_of=as_of, since=since, unit=args.per)
    finally:
        con.close()
    for note in table.warnings:
        print(f"journeys funnel: warning: {note}", file=sys.stderr)
    if args.format == "csv":
        print(_csv(table.columns, table.rows), end="")
    elif args.format == "json":
        print(json.dumps([dict(zip(table.columns, (_finite(v) for v in row))) for row in table.rows], indent=2))
    else:
        window_s = parse_window(args.window)
        print(f"{' -> '.join(steps)}: order {args.order}, window {_duration(window_s)}, unit {args.per}"
              + (f", excluding {', '.join(exclude)}" if exclude else "")
              + (f", as of {as_of:%Y-%m-%d %H:%M}" if as_of else ""))
        print(_text_table(*_readable(table.columns, table.rows)))
    return 0


def _finite(value):
    return None if isinstance(value, float) and math.isnan(value) else value


def _csv(columns, rows) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return out.getvalue()


def _readable(columns, rows):
    """Rates as percentages and times as durations, blank where undefined (step 1)."""
    shown_columns = [c.removesuffix("_s") if c.startswith("median_time") else c for c in columns]
    shown = []
    for row in rows:
        cells = []
        for column, value in zip(columns, row):
            if value is None:
                cells.append("")
            elif column.startswith(("conversion_", "drop_off_")):
                cells.append(f"{value:.1%}")
            elif column.startswith("median_time"):
                cells.append(_duration(value))
            else:
                cells.append(str(value))
        shown.append(cells)
    return shown_columns, shown


def _text_table(columns, rows) -> str:
    """Right-aligned columns, as pandas prints a frame without its index."""
    if not rows:
        return "(no rows)"
    widths = [max(len(str(c)), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]
    lines = [" ".join(str(c).rjust(w) for c, w in zip(columns, widths))]
    lines += [" ".join(cell.rjust(w) for cell, w in zip(row, widths)) for row in rows]
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    """1d 2h, 3h 5m, 4m 10s, 12s: the two largest units."""
    seconds = int(round(seconds))
    parts = [(seconds // 86400, "d"), (seconds % 86400 // 3600, "h"), (seconds % 3600 // 60, "m"), (seconds % 60, "s")]
    shown = [f"{value}{unit}" for value, unit in parts if value]
    return " ".join(shown[:2]) if shown else "0s"
