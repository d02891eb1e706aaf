"""Ad-hoc step funnels, as product-analytics tools (Amplitude, Mixpanel, PostHog) define them.

    step_funnel(con, ["product_view", "add_to_cart", "purchase"], window="7d", order="ordered")

Unit of analysis: the **person** (`unit="journey"` counts journeys instead). A person's sequence is
every touchpoint of theirs in marts.journey_steps on or before `as_of`, ordered by occurred_at
(event_id breaks ties), across all their journeys. Steps are event types.

Attempts. Every occurrence of step 1 starts an attempt (in `any` order, every occurrence of any
step does). An attempt's depth is how many steps it completed; a person counts at step k when one
of their attempts reached depth k, and the times reported are those of their deepest attempt (the
earliest one among equals). So a person who abandoned a cart on Monday and bought on Friday
converts, through Friday's attempt.

Order modes (`order`):

- `ordered` (the default; Amplitude "this order", Mixpanel's default, PostHog "sequential"): the
  steps happen in the listed order; other events may happen in between. Step k+1 is the first
  occurrence of its event type after the event that completed step k.
- `strict` (Amplitude "exact order", PostHog "strict"): in order with no other event in between:
  step k+1 must be the very next event of the person's sequence after step k, whatever its type.
- `any` (Amplitude/PostHog "any order"/"unordered"): step k is reached when the events of steps
  1..k all happened within one window, in any order; its time is when the last of them happened.

Window (`window`, e.g. "7d", "12h", "30m", "90s", "2w", or seconds): every step of an attempt
must happen at most this long after the attempt's first event (step 1 in `ordered` and `strict`;
in `any`, the event of whichever step came first). Steps outside the window do not count, and
times from the start are measured from that same first event.

Exclusion (`exclude`, event types): when an excluded event happens after an attempt's first
event and before step k, the attempt stops before step k: the person still counts at the
steps completed before the excluded event and is dropped from the steps after it (a new attempt
that starts after the excluded event can still go further). In `strict` order any event in
between already breaks the funnel, excluded or not.

Conversion per step is given both relative to step 1 (conversion_from_start) and to the previous
step (conversion_from_previous); drop-off is 1 - conversion_from_previous. Times are medians
(interpolated) over the persons who reached the step.

Breakdown (`by`): a column of marts.journey_steps (channel, campaign, product_id, ...) or of
marts.journeys (journey_type, persona, first_channel, ...), taken from the first event of each
person's deepest attempt, so every person is in exactly one group; NULL shows as '(none)'.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

import duckdb
import pandas as pd

from journeys.transforms import runner

ORDERS = ("ordered", "strict", "any")
UNITS = {"person": "person_id", "journey": "journey_id"}
STEPS_TABLE, JOURNEYS_TABLE = "marts.journey_steps", "marts.journeys"
_WINDOW = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class FunnelError(ValueError):
    """A funnel that cannot be computed as asked; the message says why."""


def parse_window(window: str | float | int | dt.timedelta) -> float:
    """Seconds in a window: '7d', '12h', '30m', '90s', '2w', a number of seconds or a timedelta."""
    if isinstance(window, dt.timedelta):
        seconds = window.total_seconds()
    elif isinstance(window, (int, float)):
        seconds = float(window)
    else:
        match = _WINDOW.match(str(window).lower())
        if not match:
            raise FunnelError(f"window {window!r}: expected a number and a unit, like 7d, 12h, 30m, 90s or 2w")
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise FunnelError(f"window {window!r} must be longer than zero")
    return seconds


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    schema, name = table.split(".")
    return [r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, name],
    ).fetchall()]


def _by_expression(con: duckdb.DuckDBPyConnection, by: str | None) -> tuple[str, str]:
    """(SQL expression of the breakdown on a touchpoint, join it needs)."""
    if by is None:
        return "null::varchar", ""
    if not _IDENTIFIER.match(by):
        raise FunnelError(f"--by {by!r} is not a column name")
    if by in _columns(con, STEPS_TABLE):
        return f"coalesce(steps.{by}::varchar, '(none)')", ""
    if by in _columns(con, JOURNEYS_TABLE):
        return f"coalesce(journeys.{by}::varchar, '(none)')", f"left join {JOURNEYS_TABLE} as journeys on journeys.journey_id = steps.journey_id"
    raise FunnelError(f"--by {by!r} is not a column of {STEPS_TABLE} or {JOURNEYS_TABLE}")


def _ok(k: int) -> str:
    """Step k of an attempt counts: it happened, inside the window, before the first exclusion."""
    return (f"(seq_{k} is not null and epoch(at_{k}) - epoch(start_at) <= $window_s "
            f"and (exclusion_seq is null or seq_{k} < exclusion_seq))")


def _attempts_sequential(n: int, strict: bool) -> str:
    """CTEs a1..an for `ordered` and `strict`: step k+1 found from the event that completed step k."""
    ctes = ["""a1 as (
        select unit_id, seq as start_seq, occurred_at as start_at, by_value, seq as seq_1, occurred_at as at_1
        from events
        where event_type = $step_1 and occurred_at >= $since
    )"""]
    for k in range(2, n + 1):
        if strict:
            join = (f"left join events as e{k} on e{k}.unit_id = a{k - 1}.unit_id and e{k}.seq = a{k - 1}.seq_{k - 1} + 1 "
                    f"and e{k}.event_type = $step_{k}")
        else:
            join = (f"asof left join (select unit_id, seq, occurred_at from events where event_type = $step_{k}) as e{k} "
                    f"on e{k}.unit_id = a{k - 1}.unit_id and a{k - 1}.seq_{k - 1} < e{k}.seq")
        ctes.append(f"""a{k} as (
        select a{k - 1}.*, e{k}.seq as seq_{k}, e{k}.occurred_at as at_{k}
        from a{k - 1}
        {join}
    )""")
    ctes.append(f"""attempts as (
        select a{n}.*, exclusions.seq as exclusion_seq
        from a{n}
        asof left join exclusions on exclusions.unit_id = a{n}.unit_id and a{n}.start_seq < exclusions.seq
    )""")
    return ",\n    ".join(ctes)


def _attempts_any(n: int) -> str:
    """CTEs for `any`: from each start, the first occurrence of every step at or after it; step k's
    time is the latest of steps 1..k (when the first k steps were all done)."""
    ctes = ["""f0 as (
        select unit_id, seq as start_seq, occurred_at as start_at, by_value
        from events
        where event_type in (select unnest($steps::varchar[])) and occurred_at >= $since
    )"""]
    for j in range(1, n + 1):
        ctes.append(f"""f{j} as (
        select f{j - 1}.*, e{j}.seq as first_seq_{j}, e{j}.occurred_at as first_at_{j}
        from f{j - 1}
        asof left join (select unit_id, seq, occurred_at from events where event_type = $step_{j}) as e{j}
            on e{j}.unit_id = f{j - 1}.unit_id and f{j - 1}.start_seq <= e{j}.seq
    )""")
    prefix = []
    for k in range(1, n + 1):
        seqs = ", ".join(f"first_seq_{j}" for j in range(1, k + 1))
        ats = ", ".join(f"first_at_{j}" for j in range(1, k + 1))
        nulls = " or ".join(f"first_seq_{j} is null" for j in range(1, k + 1))
        prefix.append(f"case when {nulls} then null else greatest({seqs}) end as seq_{k}")
        prefix.append(f"case when {nulls} then null else greatest({ats}) end as at_{k}")
    ctes.append(f"""attempts as (
        select f{n}.*, {", ".join(prefix)}, exclusions.seq as exclusion_seq
        from f{n}
        asof left join exclusions on exclusions.unit_id = f{n}.unit_id and f{n}.start_seq < exclusions.seq
    )""")
    return ",\n    ".join(ctes)


def funnel_sql(n: int, order: str, by_sql: str, by_join: str, unit_column: str, needs_all_events: bool) -> str:
    """The whole funnel query for n steps; parameters $step_1..$step_n, $steps, $exclude, $window_s, $as_of, $since."""
    attempts = _attempts_any(n) if order == "any" else _attempts_sequential(n, strict=order == "strict")
    event_filter = "" if needs_all_events else "and steps.event_type in (select unnest($steps::varchar[] || $exclude::varchar[]))"
    depth = "case " + " ".join(f"when not {_ok(k)} then {k - 1}" for k in range(1, n + 1)) + f" else {n} end"
    per_step = "\n        union all\n        ".join(
        f"""select {k} as step_number, by_value, count(*) as n_reached,
               quantile_cont(epoch(at_{k}) - epoch({'at_' + str(k - 1) if k > 1 else 'start_at'}), 0.5) as median_time_from_previous_s,
               quantile_cont(epoch(at_{k}) - epoch(start_at), 0.5) as median_time_from_start_s
        from deepest where depth >= {k} group by by_value"""
        for k in range(1, n + 1)
    )
    return f"""
    with events as (
        select
            steps.{unit_column} as unit_id,
            steps.event_type,
            steps.occurred_at,
            {by_sql} as by_value,
            row_number() over (partition by steps.{unit_column} order by steps.occurred_at, steps.event_id) as seq
        from {STEPS_TABLE} as steps
        {by_join}
        where steps.occurred_at <= $as_of and steps.{unit_column} is not null {event_filter}
    ),
    exclusions as (
        select unit_id, seq from events where event_type in (select unnest($exclude::varchar[]))
    ),
    {attempts},
    scored as (
        select *, {depth} as depth from attempts
    ),
    deepest as (
        select * from scored
        where depth > 0
        qualify row_number() over (partition by unit_id order by depth desc, start_seq) = 1
    )
    {per_step}
    """


def step_funnel(
    con: duckdb.DuckDBPyConnection,
    steps: Sequence[str],
    window: str | float | dt.timedelta = "7d",
    order: str = "ordered",
    exclude: Sequence[str] = (),
    by: str | None = None,
    as_of: dt.datetime | None = None,
    since: dt.datetime | None = None,
    unit: str = "person",
) -> pd.DataFrame:
    """Counts, conversion and drop-off per step and median time between steps (see the module docstring).

    Returns one row per step (per breakdown value when `by` is given, in a column named after it):
    step_number, step, n_reached (persons, or journeys with unit="journey"), conversion_from_start,
    conversion_from_previous, drop_off_from_previous, n_dropped_from_previous,
    median_time_from_previous_s, median_time_from_start_s. `as_of` ignores later events (default:
    all); `since` counts only attempts whose first event is on or after it.
    """
    steps = [s.strip().lower() for s in steps if s and s.strip()]
    exclude = [e.strip().lower() for e in exclude if e and e.strip()]
    if len(steps) < 2:
        raise FunnelError("a funnel needs at least two steps")
    if order not in ORDERS:
        raise FunnelError(f"order {order!r}: expected one of {', '.join(ORDERS)}")
    if unit not in UNITS:
        raise FunnelError(f"unit {unit!r}: expected one of {', '.join(UNITS)}")
    if order == "any" and len(set(steps)) < len(steps):
        raise FunnelError("in 'any' order every step must be a different event type")
    overlap = sorted(set(steps) & set(exclude))
    if overlap:
        raise FunnelError(f"{', '.join(overlap)} cannot be both a step and excluded")
    by_sql, by_join = _by_expression(con, by)
    sql = funnel_sql(len(steps), order, by_sql, by_join, UNITS[unit], needs_all_events=order == "strict")
    params = {f"step_{k}": s for k, s in enumerate(steps, start=1)}
    params.update(steps=steps, exclude=exclude, window_s=parse_window(window),
                  as_of=as_of or dt.datetime.max, since=since or dt.datetime.min)
    counted = con.execute(sql, runner.bind(sql, params)).df()
    return _shape(counted, steps, by)


def _shape(counted: pd.DataFrame, steps: list[str], by: str | None) -> pd.DataFrame:
    """Every step for every breakdown value (zero when nobody reached it), plus the rates."""
    values = sorted(counted["by_value"].dropna().unique().tolist()) + ([None] if counted["by_value"].isna().any() else [])
    grid = pd.DataFrame(
        [(v, k, s) for v in (values or [None]) for k, s in enumerate(steps, start=1)],
        columns=["by_value", "step_number", "step"],
    )
    frame = grid.merge(counted, on=["by_value", "step_number"], how="left")
    frame["n_reached"] = frame["n_reached"].fillna(0).astype("int64")
    group = frame.groupby("by_value", dropna=False, sort=False)["n_reached"]
    first = group.transform("first")
    previous = group.shift(1)
    frame["conversion_from_start"] = (frame["n_reached"] / first.where(first > 0)).astype("float64")
    frame["conversion_from_previous"] = (frame["n_reached"] / previous.where(previous > 0)).astype("float64")
    frame["drop_off_from_previous"] = 1.0 - frame["conversion_from_previous"]
    frame["n_dropped_from_previous"] = (previous - frame["n_reached"]).astype("Int64")
    columns = ["step_number", "step", "n_reached", "conversion_from_start", "conversion_from_previous",
               "drop_off_from_previous", "n_dropped_from_previous", "median_time_from_previous_s", "median_time_from_start_s"]
    frame.loc[frame["step_number"] == 1, "median_time_from_previous_s"] = float("nan")
    if by is None:
        return frame[columns].reset_index(drop=True)
    return frame.rename(columns={"by_value": by})[[by, *columns]].reset_index(drop=True)
