"""Journeys and their shapes: cutting a person's touchpoints into journeys, and classifying each
as linear, branching, cyclical or complex, with the reason.

A journey is a person's touchpoints, in occurred_at order (event_id breaks ties), with no gap
longer than journey_gap_days. The shape rules, on a journey's touchpoints in order:

1. Consecutive touchpoints with the same event type and channel collapse into one step
   (`is_repeat`).
2. Walk the steps whose event type the stage model maps (unmapped ones are skipped), keeping the
   highest stage reached in the current cycle. A step at a lower stage is a *restart* if the
   cycle already holds a conversion — a new cycle begins there — and a *return* otherwise.
3. *Detours* are steps of kind `detour` plus non-consecutive revisits of an event type already
   seen in the current cycle.
4. `complex` if returns >= 1 or distinct channels >= 3; else `cyclical` if restarts >= 1; else
   `branching` if detours >= 1; else `linear` (thresholds below, overridable by settings).

How it runs, and why not in SQL windows: cutting journeys in SQL takes two window passes (a lag
to find the gaps, then a running count to number the journeys), each a sort of the whole table
with its payload; once the rows are sorted, numbering and collapsing are one comparison with the
previous row. So DuckDB sorts once, narrow (person, time), and numpy does the rest in O(n), on
whole persons a batch at a time (journey_walk_batch_rows), so its memory does not grow with the history.
Step 2 is sequential — whether a step is a return depends on where the current cycle began, i.e.
on earlier restarts — so it walks all journeys at once, one step index at a time: with journeys
sorted by length, the journeys still active at step i are a prefix, and the steps are laid out
step-major so each iteration reads one contiguous slice. The few very long journeys left at the
end (a bot, a switchboard number) finish in a plain loop, so a 100k-step journey does not cost
100k numpy iterations. Per-journey counts and the reason text are SQL (marts/journeys.sql) over
the per-touchpoint flags computed here.
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from journeys.settings import Settings
from journeys.transforms import tables

_SCALAR_BELOW = 8
"""Fewer active journeys than this: finish them one by one instead of one numpy step at a time."""


def walk(journey: np.ndarray, step_number: np.ndarray, stage_rank: np.ndarray, is_conversion: np.ndarray,
         is_walk_step: np.ndarray, event_type: np.ndarray, scalar_below: int = _SCALAR_BELOW) -> dict[str, np.ndarray]:
    """The cycle walk over every journey at once.

    Inputs are aligned arrays, one element per touchpoint, in any order: journey (0..J-1),
    step_number (1..length, dense within each journey), stage_rank, is_conversion, is_walk_step
    (mapped and not a repeat: the steps the walk looks at) and event_type (an integer code >= 0).
    Returns arrays aligned with the inputs: cycle_number, is_return, is_restart, is_revisit and
    previous_highest_rank (highest stage rank of the current cycle before the step). Touchpoints
    that are not walk steps carry the cycle they fall in and no flags.
    """
    n = len(journey)
    if n == 0:
        return {"cycle_number": np.ones(0, np.int32), "is_return": np.zeros(0, bool), "is_restart": np.zeros(0, bool),
                "is_revisit": np.zeros(0, bool), "previous_highest_rank": np.zeros(0, np.int16)}
    journey = np.asarray(journey)
    n_journeys = int(journey.max()) + 1
    lengths = np.bincount(journey, minlength=n_journeys)
    by_length = np.argsort(-lengths, kind="stable")
    slot = np.empty(n_journeys, dtype=np.int64)
    slot[by_length] = np.arange(n_journeys)
    sorted_lengths = lengths[by_length]
    del by_length, lengths
    max_length = int(sorted_lengths[0])
    active = n_journeys - np.cumsum(np.bincount(sorted_lengths, minlength=max_length + 1))[:max_length]
    start = np.zeros(max_length + 1, dtype=np.int64)
    start[1:] = np.cumsum(active)
    # Row i of the input sits at position[i] of the step-major layout: all first steps, then all second steps, ...
    position = start[np.asarray(step_number) - 1]
    position += slot[journey]
    del slot

    def step_major(values, dtype):
        laid_out = np.empty(n, dtype=dtype)
        laid_out[position] = values
        return laid_out

    walks = step_major(is_walk_step, bool)
    ranks = step_major(stage_rank, np.int16)
    ranks[~walks] = 0
    conversions = step_major(is_conversion, bool) & walks
    types = step_major(event_type, np.int32)
    types[~walks] = 0
    n_words = int(types.max()) // 64 + 1

    cycle = np.ones(n_journeys, dtype=np.int32)
    highest = np.zeros(n_journeys, dtype=np.int16)
    has_conversion = np.zeros(n_journeys, dtype=bool)
    last_type = np.full(n_journeys, -1, dtype=np.int32)
    seen = np.zeros((n_journeys, n_words), dtype=np.uint64)
    rows = np.arange(n_journeys)
    cycle_out = np.empty(n, dtype=np.int32)
    return_out = np.zeros(n, dtype=bool)
    restart_out = np.zeros(n, dtype=bool)
    revisit_out = np.zeros(n, dtype=bool)
    previous_out = np.empty(n, dtype=np.int16)

    step = 0
    while step < max_length and active[step] >= scalar_below:
        k = int(active[step])
        here = slice(int(start[step]), int(start[step]) + k)
        w, r = walks[here], ranks[here]
        previous_out[here] = highest[:k]
        lower = w & (r < highest[:k])
        restart = lower & has_conversion[:k]
        return_out[here] = lower & ~has_conversion[:k]
        restart_out[here] = restart
        if restart.any():
            again = np.flatnonzero(restart)
            cycle[again] += 1
            highest[again] = 0
            has_conversion[again] = False
            seen[again] = 0
            last_type[again] = -1
        np.maximum(highest[:k], r, out=highest[:k])
        t = types[here]
        word, bit = t >> 6, np.left_shift(np.uint64(1), (t & 63).astype(np.uint64))
        current = seen[rows[:k], word]
        revisit_out[here] = w & ((current & bit) != 0) & (last_type[:k] != t)
        seen[rows[:k], word] = np.where(w, current | bit, current)
        has_conversion[:k] |= conversions[here]
        last_type[:k] = np.where(w, t, last_type[:k])
        cycle_out[here] = cycle[:k]
        step += 1

    # The long tail: the same rules, one journey at a time.
    if step < max_length:
        for s in range(int(active[step])):
            c, high, conv, last = int(cycle[s]), int(highest[s]), bool(has_conversion[s]), int(last_type[s])
            seen_set = {wd * 64 + b for wd in range(n_words) for b in range(64) if int(seen[s, wd]) >> b & 1}
            for i in range(step, int(sorted_lengths[s])):
                p = int(start[i]) + s
                previous_out[p] = high
                if walks[p]:
                    r, t = int(ranks[p]), int(types[p])
                    if r < high:
                        if conv:
                            restart_out[p] = True
                            c, high, conv, last, seen_set = c + 1, 0, False, -1, set()
                        else:
                            return_out[p] = True
                    high = max(high, r)
                    revisit_out[p] = t in seen_set and last != t
                    seen_set.add(t)
                    conv = conv or bool(conversions[p])
                    last = t
                cycle_out[p] = c

    del walks, ranks, conversions, types, seen
    return {
        "cycle_number": cycle_out[position],
        "is_return": return_out[position],
        "is_restart": restart_out[position],
        "is_revisit": revisit_out[position],
        "previous_highest_rank": previous_out[position],
    }


def first_in_journey(journey: np.ndarray, values: np.ndarray, where: np.ndarray) -> np.ndarray:
    """Rows (among `where`) holding the first occurrence of their value in their journey, for rows
    in journey order and a small set of values: one pass per value, no sort."""
    flags = np.zeros(len(journey), dtype=bool)
    rows = np.flatnonzero(where)
    if len(rows) == 0:
        return flags
    present = np.flatnonzero(np.bincount(values[rows]))
    for value in present:
        at = rows[values[rows] == value]
        first = np.ones(len(at), dtype=bool)
        first[1:] = journey[at[1:]] != journey[at[:-1]]
        flags[at[first]] = True
    return flags


def lists_on_first_steps(journey: np.ndarray, is_start: np.ndarray, rows: np.ndarray, values: pa.Array) -> pa.ListArray:
    """Per-journey lists (values[k] belongs to the journey of rows[k], rows in journey order) as a
    column that holds each journey's list on its first step and NULL on the others. Building a
    list per journey here is offset arithmetic; the same lists as a SQL list() aggregate cost more
    than all the other journey aggregates together."""
    n_journeys = int(journey[-1]) + 1 if len(journey) else 0
    offsets = np.zeros(n_journeys + 1, dtype=np.int64)
    np.cumsum(np.bincount(journey[rows], minlength=n_journeys), out=offsets[1:])
    row_offsets = np.empty(len(journey) + 1, dtype=np.int64)
    row_offsets[:-1] = np.where(is_start, offsets[journey], offsets[journey + 1])
    row_offsets[-1] = offsets[-1]
    return pa.ListArray.from_arrays(pa.array(row_offsets), values, mask=pa.array(~is_start))


def _codes(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Small integer codes for a low-cardinality string column (event types, channels), and the values they stand for."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    encoded = pc.dictionary_encode(pc.fill_null(column, ""))
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int32), encoded.dictionary


def journey_steps(touchpoints: pa.Table, journey_gap_days: float, scalar_below: int = _SCALAR_BELOW) -> pa.Table:
    """Cut touchpoints into journeys and walk them.

    touchpoints: person_id, occurred_at, channel, event_type, stage_rank (NULL when unmapped),
    is_detour_kind, is_conversion — one row per touchpoint that has a person, sorted by
    (person_id, occurred_at, event_id). Returns, aligned with the input: step_number,
    journey_started_at, is_repeat, seconds_since_previous_step and the walk's flags (cycle_number,
    is_return, is_restart, is_detour, is_revisit, previous_highest_stage_rank), is_first_channel_use
    and is_first_detour, and on each journey's first step its channels and detours in order
    (journey_channels, journey_detours; NULL on the other steps).
    """
    n = touchpoints.num_rows
    occurred = touchpoints.column("occurred_at").to_numpy().astype("datetime64[us]").view(np.int64)
    since_previous = np.zeros(n, dtype=np.int64)
    since_previous[1:] = np.diff(occurred)
    is_start = since_previous > int(journey_gap_days * 86_400 * 1_000_000)
    if n:
        person = touchpoints.column("person_id").combine_chunks()
        is_start[0] = True
        is_start[1:] |= pc.not_equal(person.slice(1), person.slice(0, n - 1)).to_numpy(zero_copy_only=False)
        del person
    journey = (np.cumsum(is_start) - 1).astype(np.int32 if n < 2**31 else np.int64)
    first_row = np.flatnonzero(is_start)
    step_number = np.arange(n, dtype=np.int64)
    step_number -= first_row[journey]
    step_number += 1

    event_type, event_types = _codes(touchpoints.column("event_type"))
    channel, channels = _codes(touchpoints.column("channel"))
    is_repeat = np.zeros(n, dtype=bool)
    is_repeat[1:] = (event_type[1:] == event_type[:-1]) & (channel[1:] == channel[:-1])
    is_repeat &= ~is_start
    is_mapped = pc.is_valid(touchpoints.column("stage_rank")).to_numpy(zero_copy_only=False)
    is_detour_kind = pc.fill_null(touchpoints.column("is_detour_kind"), False).to_numpy(zero_copy_only=False)
    is_walk_step = is_mapped & ~is_repeat
    walked = walk(journey, step_number, pc.fill_null(touchpoints.column("stage_rank"), 0).to_numpy(),
                  pc.fill_null(touchpoints.column("is_conversion"), False).to_numpy(zero_copy_only=False),
                  is_walk_step, event_type, scalar_below=scalar_below)
    is_detour = is_walk_step & (is_detour_kind | walked["is_revisit"])
    detour_label = event_type * 2 + ~is_detour_kind  # a revisit of a main step is a label of its own
    is_first_channel_use = first_in_journey(journey, channel, np.ones(n, dtype=bool))
    is_first_detour = first_in_journey(journey, detour_label, is_detour)
    first_uses = np.flatnonzero(is_first_channel_use)
    first_detours = np.flatnonzero(is_first_detour)
    labels = pc.binary_join_element_wise(
        event_types.take(pa.array(event_type[first_detours])),
        pa.array(np.where(is_detour_kind[first_detours], "", " (revisit)")), "")
    return pa.table({
        "step_number": step_number,
        "journey_started_at": occurred[first_row[journey]].astype("datetime64[us]"),
        "is_repeat": is_repeat,
        "seconds_since_previous_step": pa.array(since_previous / 1e6, pa.float64(), mask=is_start),
        "cycle_number": walked["cycle_number"],
        "is_return": walked["is_return"],
        "is_restart": walked["is_restart"],
        "is_detour": is_detour,
        "is_revisit": walked["is_revisit"],
        "previous_highest_stage_rank": np.where(is_walk_step, walked["previous_highest_rank"], 0).astype(np.int16),
        "is_first_channel_use": is_first_channel_use,
        "is_first_detour": is_first_detour,
        "journey_channels": lists_on_first_steps(journey, is_start, first_uses, channels.take(pa.array(channel[first_uses]))),
        "journey_detours": lists_on_first_steps(journey, is_start, first_detours, labels),
    })


WALK_INPUT = """
select person_id, event_id, occurred_at, channel, event_type, stage, stage_rank, stage_kind,
       stage_kind = 'detour' as is_detour_kind, is_conversion, revenue, currency
from intermediate.int_touchpoints_stitched
where person_id is not null and {persons}
"""
"""What the walk reads, in SQL both engines run; it needs the rows in WALK_ORDER."""
WALK_ORDER = ("person_id", "occurred_at", "event_id")
_READ = WALK_INPUT + f"order by {', '.join(WALK_ORDER)}"

_PASSED_THROUGH = ("person_id", "event_id", "occurred_at", "channel", "event_type", "stage", "stage_rank", "stage_kind",
                   "is_conversion", "revenue", "currency")

_MATERIALIZE = """
select
    md5(person_id || '|' || strftime(journey_started_at, '%Y-%m-%dT%H:%M:%S.%f')) as journey_id,
    person_id,
    event_id,
    step_number,
    journey_started_at,
    occurred_at,
    channel,
    event_type,
    stage,
    stage_rank,
    stage_kind,
    is_conversion,
    is_repeat,
    seconds_since_previous_step,
    cycle_number,
    is_return,
    is_restart,
    is_detour,
    is_revisit,
    previous_highest_stage_rank,
    is_first_channel_use,
    is_first_detour,
    journey_channels,
    journey_detours,
    revenue,
    currency
from _journey_walk
"""


def build_int_journey_steps(con: duckdb.DuckDBPyConnection, settings: Settings, persons: str | None = None) -> int:
    """One row per touchpoint of a person, cut into journeys and numbered in journey order, with
    what the shape rules see. A journey is a person's touchpoints with no gap longer than
    journey_gap_days, ordered by occurred_at (never by arrival, so late events take their place);
    its id is the md5 of the person and its start, the same on every rebuild of the same data.
    Touchpoints whose identifiers are all placeholders have no person and no journey. Narrow on
    purpose: the touchpoints' other details stay in int_touchpoints_stitched, marts.journey_steps
    joins them back.
    columns:
      journey_id: md5 of person_id and journey_started_at
      person_id: the stitched person
      event_id: the touchpoint
      step_number: 1..n in journey order (occurred_at, then event_id)
      journey_started_at: occurred_at of the journey's first touchpoint
      occurred_at: when the contact happened, UTC
      channel: web, email, call_center, store, mobile_app, social, chat or sms
      event_type: what happened
      stage: stage of the event type in the active stage model; NULL when unmapped
      stage_rank: position of the stage in the model, 1 = first; NULL when unmapped
      stage_kind: main, detour, exit or unmapped
      is_conversion: the event type is a conversion of the model
      is_repeat: same event type and channel as the previous touchpoint: collapsed into it
      seconds_since_previous_step: seconds since the previous touchpoint of the journey; NULL for the first
      cycle_number: 1 + restarts so far: which cycle of the journey the touchpoint falls in
      is_return: a step back to a lower stage before the cycle converted
      is_restart: a step back to a lower stage after the cycle converted: a new cycle begins here
      is_detour: a detour-kind step, or a non-consecutive revisit of an event type seen earlier in the cycle
      is_revisit: a non-consecutive revisit of an event type seen earlier in the cycle
      previous_highest_stage_rank: highest stage rank of the cycle before this step (0: none yet)
      is_first_channel_use: the journey's first touchpoint on this channel
      is_first_detour: the journey's first detour with this event type (and revisit or not)
      journey_channels: on the journey's first step: its channels in order of first use; NULL on the other steps
      journey_detours: on the journey's first step: its detours (event types, '(revisit)' for revisits) in order of \
first appearance; NULL on the other steps
      revenue: order value in the reporting currency (converted in staging)
      currency: the reporting currency of revenue; NULL when revenue is NULL
    """
    # `persons` (a query of person_ids) walks only those and replaces only their rows: an incremental build.
    only = "true" if persons is None else f"person_id in ({persons})"
    with tables.memory_left_to_python(con, settings.duckdb_memory_limit):
        # One sort, narrow, streamed: DuckDB sorts (spilling past its memory limit) and hands the
        # rows over in journey order; numpy walks whole persons a batch at a time, and a second
        # connection of the same database writes each batch back while the first still streams.
        sorted_touchpoints = con.sql(_READ.format(persons=only)).arrow()
        writer = con.cursor()
        walked = (_walked(batch, settings.journey_gap_days)
                  for batch in whole_persons(sorted_touchpoints, settings.journey_walk_batch_rows))
        try:
            if persons is not None:
                return tables.replace_rows_in_batches(writer, "intermediate.int_journey_steps", only, _MATERIALIZE,
                                                      "_journey_walk", walked)
            return tables.replace_table_in_batches(writer, "intermediate.int_journey_steps", _MATERIALIZE,
                                                   "_journey_walk", walked,
                                                   doc=tables.parse_doc(build_int_journey_steps.__doc__))
        finally:
            writer.close()
            sorted_touchpoints.close()


def materialize_walk(con: duckdb.DuckDBPyConnection, touchpoints: pa.Table, journey_gap_days: float) -> pa.Table:
    """Whole persons' touchpoints (WALK_INPUT's columns, in WALK_ORDER) walked and put in
    int_journey_steps' columns: what each Spark task does with its batches. The DuckDB build runs
    the same SQL over the same walk, straight into its table."""
    con.register("_journey_walk", _walked(touchpoints, journey_gap_days))
    try:
        return con.sql(_MATERIALIZE).to_arrow_table()
    finally:
        con.unregister("_journey_walk")


def _walked(touchpoints: pa.Table, journey_gap_days: float) -> pa.Table:
    """The walk's columns with the touchpoint columns passed through (no join back)."""
    walked = journey_steps(touchpoints, journey_gap_days)
    for name in _PASSED_THROUGH:
        walked = walked.append_column(name, touchpoints.column(name))
    return walked


def _last_person_rows(batches: list[pa.RecordBatch]) -> int:
    """Rows of the last person in batches sorted by person_id (a suffix), searched from the end so
    that only the batch where that person starts is compared."""
    last = next(b for b in reversed(batches) if b.num_rows).column("person_id")[-1].as_py()
    rows = 0
    for batch in reversed(batches):
        if not batch.num_rows:
            continue
        persons = batch.column("person_id")
        if persons[0].as_py() != last:
            return rows + pc.sum(pc.equal(persons, last)).as_py()
        rows += batch.num_rows
    return rows


def whole_persons(reader: pa.RecordBatchReader, batch_rows: int) -> Iterator[pa.Table]:
    """Rows sorted by person_id, regrouped into tables of about `batch_rows` rows that never split
    a person (a person with more rows than that is one larger table). Yields at least one table,
    empty when the reader is, so what is built from them always has its columns."""
    pending: list[pa.RecordBatch] = []
    held = 0
    yielded = False
    for batch in reader:
        pending.append(batch)
        held += batch.num_rows
        if held < batch_rows:
            continue
        last_person_rows = _last_person_rows(pending)
        cut = held - last_person_rows
        if cut == 0:  # one person so far: keep reading until the next one starts
            continue
        table = pa.Table.from_batches(pending, schema=reader.schema)
        yield table.slice(0, cut)
        yielded = True
        pending = table.slice(cut).to_batches()
        held = last_person_rows
    if held or not yielded:
        yield pa.Table.from_batches(pending, schema=reader.schema)
