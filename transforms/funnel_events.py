"""The funnel's input, read in one pass: each unit's events as one sorted array (grain: one entry per event).

DuckDB groups marts.journey_steps by unit (`list(...)`) and hands all units over as one list, each
unit after a header giving its length; NumPy splits it and sorts the units that need it. Each event is one BIGINT,
`epoch_us(occurred_at) * 64 + code`, so sorting it orders by time and then by code, and the
codes give ties their funnel order: excluded events, then steps as listed, then other events.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass

import duckdb
import numpy as np

from journeys.transforms import tables
from journeys.transforms.funnel_spec import UNITS, FunnelError, FunnelSpec

STEPS_TABLE, JOURNEYS_TABLE = "marts.journey_steps", "marts.journeys"
CODE_BITS = 6
OTHER = (1 << CODE_BITS) - 1
"""Code of an event that is neither a step nor excluded (read in strict order only)."""
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Codes:
    """Event type -> code: excluded types first (1..), then step types in funnel order."""

    by_type: dict[str, int]
    step_codes: tuple[int, ...]
    """One per step, in funnel order (a type repeated in the steps has one code)."""
    exclusion_codes: tuple[int, ...]
    """One per exclusion of the spec, in its order."""


def codes_for(spec: FunnelSpec) -> Codes:
    by_type: dict[str, int] = {}
    for event_type in [e.event_type for e in spec.exclusions] + list(spec.steps):
        by_type.setdefault(event_type, len(by_type) + 1)
    if len(by_type) >= OTHER:
        raise FunnelError(f"at most {OTHER - 1} different event types in the steps and exclusions together")
    return Codes(by_type, tuple(by_type[s] for s in spec.steps), tuple(by_type[e.event_type] for e in spec.exclusions))


@dataclass(frozen=True)
class Sequences:
    """Every unit's events, sorted, back to back: unit i is events[offsets[i]:offsets[i + 1]]."""

    at_us: np.ndarray
    """int64 microseconds since the epoch."""
    code: np.ndarray
    """int64 event codes (Codes; OTHER for the rest)."""
    offsets: np.ndarray
    by_values: list[str] | None
    """Per unit, the breakdown value (first touch), or None without a breakdown."""


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    schema, name = table.split(".")
    return [r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, name],
    ).fetchall()]


def by_expression(con: duckdb.DuckDBPyConnection, by: str | None) -> tuple[str, str]:
    """(SQL expression of the breakdown on a touchpoint, the join it needs)."""
    if by is None:
        return "", ""
    if not _IDENTIFIER.match(by):
        raise FunnelError(f"--by {by!r} is not a column name")
    if by in _columns(con, STEPS_TABLE):
        return f"steps.{by}::varchar", ""
    if by in _columns(con, JOURNEYS_TABLE):
        return f"journeys.{by}::varchar", f"left join {JOURNEYS_TABLE} as journeys on journeys.journey_id = steps.journey_id"
    raise FunnelError(f"--by {by!r} is not a column of {STEPS_TABLE} or {JOURNEYS_TABLE}")


HEADER = -(1 << 62)
"""Each unit's events are preceded by HEADER - (its number of events): below any packed event
(those are above -(1 << 62) for any time after the year -2500)."""


def _flat_sql(spec: FunnelSpec, codes: Codes, by_sql: str, by_join: str) -> str:
    """One row: every unit's header and sorted packed events back to back (and, with a breakdown,
    the units' first-touch values in the same order)."""
    unit = UNITS[spec.unit]
    case = " ".join(f"when $type_{i} then {code}" for i, code in enumerate(codes.by_type.values()))
    # Filtering on the CASE's code rather than `event_type in (...)`: DuckDB evaluates the CASE on the
    # column's dictionary, about 3x faster over 10M rows.
    type_filter = "" if spec.order == "strict" else f"where code < {OTHER}"
    by_column = f", {by_sql} as by_value" if by_sql else ""
    by_agg = (f", coalesce(arg_min(by_value, packed) filter (where by_value is not null and code >= "
              f"{min(codes.step_codes)} and code < {OTHER}), '(none)') as by_value") if by_sql else ""
    # With a breakdown both lists are sorted by the value, so they line up unit for unit (ties share it).
    in_order = " order by by_value" if by_sql else ""
    by_list = ", list(by_value order by by_value) as by_values" if by_sql else ""
    return f"""
    with events as (
        select
            steps.{unit} as unit_id,
            case steps.event_type {case} else {OTHER} end as code,
            epoch_us(steps.occurred_at) * {1 << CODE_BITS} + code as packed
            {by_column}
        from {STEPS_TABLE} as steps
        {by_join}
        where steps.occurred_at >= $since and steps.occurred_at <= $as_of and steps.{unit} is not null
    ),
    units as (
        select list(packed) as events {by_agg}
        from events
        {type_filter}
        group by unit_id
    )
    select flatten(list(list_prepend(({HEADER})::bigint - len(events), events){in_order})) as events {by_list}
    from units
    """


def read_sequences(con: duckdb.DuckDBPyConnection, spec: FunnelSpec, codes: Codes, by: str | None,
                   as_of: dt.datetime | None, since: dt.datetime | None) -> Sequences:
    """Grouping inside one aggregate and fetching one list is the fastest way out of DuckDB measured
    (README, Benchmarks): a window function or ORDER BY over all rows is 3-5x slower, and unnesting
    the lists hands them over interleaved (preserve_insertion_order is off)."""
    by_sql, by_join = by_expression(con, by)
    sql = _flat_sql(spec, codes, by_sql, by_join)
    params = {f"type_{i}": t for i, t in enumerate(codes.by_type)}
    params.update(as_of=as_of or dt.datetime.max, since=since or dt.datetime.min)
    result = con.execute(sql, tables.bind(sql, params)).fetchnumpy()
    flat = result["events"][0]
    flat = np.zeros(0, dtype=np.int64) if flat is None or np.ma.is_masked(flat) else np.asarray(flat, dtype=np.int64)
    is_header = flat < HEADER + (1 << 40)
    lengths = HEADER - flat[is_header]
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    packed = _sort_units(flat[~is_header], offsets)
    by_values = None
    if by_sql:
        values = result["by_values"][0]
        by_values = [] if values is None or np.ma.is_masked(values) else list(values)
    return Sequences(packed >> CODE_BITS, packed & OTHER, offsets, by_values)


def _sort_units(packed: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Each unit's events in order. list() keeps the order the table is stored in, which is nearly
    always time order already (the journey model writes a person's steps together, in order), so
    only the few units with an event out of order are sorted, here, instead of every list in DuckDB
    (list_sort was a third of the query)."""
    descents = np.flatnonzero(packed[1:] < packed[:-1]) + 1
    starts = np.zeros(len(packed) + 1, dtype=bool)
    starts[offsets] = True
    descents = descents[~starts[descents]]
    if len(descents) == 0:
        return packed
    units = np.unique(np.searchsorted(offsets, descents, side="right") - 1)
    lengths = offsets[units + 1] - offsets[units]
    unit_of = np.repeat(units, lengths)
    positions = np.repeat(offsets[units] - np.cumsum(np.r_[0, lengths[:-1]]), lengths) + np.arange(lengths.sum())
    packed = packed.copy()
    packed[positions] = packed[positions][np.lexsort((packed[positions], unit_of))]
    return packed


def unknown_event_types(con: duckdb.DuckDBPyConnection, wanted: list[str]) -> list[str]:
    """One line per wanted event type that marts.journey_steps never has, with the closest known ones."""
    known = [r[0] for r in con.execute(f"select distinct event_type from {STEPS_TABLE} where event_type is not null").fetchall()]
    lines = []
    for event_type in wanted:
        if event_type in known:
            continue
        close = difflib.get_close_matches(event_type, known, n=3, cutoff=0.6)
        if close:
            hint = f"; closest known event types: {', '.join(close)}"
        else:
            hint = f"; no known event type is close ({len(known)} known)"
        lines.append(f"{event_type!r} never occurs in {STEPS_TABLE}{hint}")
    return lines
