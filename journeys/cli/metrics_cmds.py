"""Metrics commands: funnel (ad-hoc step funnels over the published warehouse)."""

from __future__ import annotations

from journeys.settings import load_settings, parse_as_of

ORDERS = ("ordered", "strict", "any")  # transforms.funnel.ORDERS, kept here so --help imports no pandas


def register(commands) -> None:
    p = commands.add_parser(
        "funnel",
        help="ad-hoc step funnel: counts, conversion, drop-off and time per step (unit: person)",
        description=(
            "Persons (or journeys, --per journey) who did the steps, as of the published warehouse. "
            "ordered: steps in order, other events allowed in between; strict: in order with no other "
            "event in between; any: all steps in any order. Every step must happen within --window of "
            "the attempt's first event. A person with an --exclude event after the first step is dropped "
            "from the steps after it. See transforms/funnel.py for the exact rules."
        ),
    )
    p.add_argument("--steps", required=True, help="comma-separated event types in funnel order, e.g. product_view,add_to_cart,purchase")
    p.add_argument("--window", default="7d", help="conversion window from the first step: 7d, 12h, 30m, 90s, 2w (default 7d)")
    p.add_argument("--order", choices=ORDERS, default="ordered", help="step order rule (default ordered)")
    p.add_argument("--exclude", action="append", default=[], metavar="EVENT_TYPE",
                   help="drop a person from the steps after this event (repeatable or comma-separated)")
    p.add_argument("--by", metavar="COLUMN", help="break down by a column of marts.journey_steps or marts.journeys "
                                                   "(channel, campaign, journey_type, persona, ...) on the first step")
    p.add_argument("--per", choices=("person", "journey"), default="person", help="unit of analysis (default person)")
    p.add_argument("--since", help="only attempts whose first step is on or after this date/time")
    p.add_argument("--as-of", help="ignore events after this date/time (default: settings.as_of, else everything)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.set_defaults(run=run_funnel)


def run_funnel(args) -> int:
    from journeys import warehouse
    from journeys.query import format_frame
    from journeys.transforms.funnel import parse_window, step_funnel

    settings = load_settings()
    as_of = parse_as_of(args.as_of) if args.as_of else settings.as_of
    since = parse_as_of(args.since) if args.since else None
    if since is not None and args.since and len(args.since.strip()) == 10:
        since = since.replace(hour=0, minute=0, second=0, microsecond=0)  # a date means from its start
    steps = [s for s in args.steps.split(",") if s.strip()]
    exclude = [e for item in args.exclude for e in item.split(",") if e.strip()]
    con = warehouse.reader(settings)
    try:
        frame = step_funnel(con, steps, window=args.window, order=args.order, exclude=exclude, by=args.by,
                            as_of=as_of, since=since, unit=args.per)
    finally:
        con.close()
    if args.format != "table":
        print(format_frame(frame, args.format))
        return 0
    window_s = parse_window(args.window)
    print(f"{' -> '.join(steps)}: order {args.order}, window {_duration(window_s)}, unit {args.per}"
          + (f", excluding {', '.join(exclude)}" if exclude else "")
          + (f", as of {as_of:%Y-%m-%d %H:%M}" if as_of else ""))
    print(format_frame(_readable(frame), "table"))
    return 0


def _readable(frame):
    """Rates as percentages and times as durations, blank where undefined (step 1)."""
    import pandas as pd

    shown = frame.copy()
    for column in ("conversion_from_start", "conversion_from_previous", "drop_off_from_previous"):
        shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{v:.1%}")
    for column in ("median_time_from_previous_s", "median_time_from_start_s"):
        shown[column.removesuffix("_s")] = shown.pop(column).map(lambda v: "" if pd.isna(v) else _duration(v))
    shown["n_dropped_from_previous"] = shown["n_dropped_from_previous"].map(lambda v: "" if pd.isna(v) else str(v))
    return shown


def _duration(seconds: float) -> str:
    """1d 2h, 3h 5m, 4m 10s, 12s: the two largest units."""
    seconds = int(round(seconds))
    parts = [(seconds // 86400, "d"), (seconds % 86400 // 3600, "h"), (seconds % 3600 // 60, "m"), (seconds % 60, "s")]
    shown = [f"{value}{unit}" for value, unit in parts if value]
    return " ".join(shown[:2]) if shown else "0s"
