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
previous row. So DuckDB sorts once, narrow (person, time), and numpy does the rest in O(n).
Step 2 is sequential — whether a step is a return depends on where the current cycle began, i.e.
on earlier restarts — so it walks all journeys at once, one step index at a time: with journeys
sorted by length, the journeys still active at step i are a prefix, and the steps are laid out
step-major so each iteration reads one contiguous slice. The few very long journeys left at the
end (a bot, a switchboard number) finish in a plain loop, so a 100k-step journey does not cost
100k numpy iterations. Per-journey counts and the reason text are SQL (marts/journeys.sql) over
the per-touchpoint flags computed here.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from journeys.settings import Settings
from journeys.transforms import runner

COMPLEX_MIN_RETURNS = 1
"""A journey with at least this many returns to an earlier stage is complex."""
COMPLEX_MIN_CHANNELS = 3
"""A journey over at least this many distinct channels is complex."""
CYCLICAL_MIN_RESTARTS = 1
"""Otherwise, at least this many restarts after a conversion make it cyclical."""
BRANCHING_MIN_DETOURS = 1
"""Otherwise, at least this many detours make it branching."""

_SCALAR_BELOW = 8
"""Fewer active journeys than this: finish them one by one instead of one numpy step at a time."""


def classification_params(settings: Settings) -> dict:
    """Thresholds as SQL parameters: settings.journey_* when defined, else the defaults above."""
    return {
        "journey_complex_min_returns": int(getattr(settings, "journey_complex_min_returns", COMPLEX_MIN_RETURNS)),
        "journey_complex_min_channels": int(getattr(settings, "journey_complex_min_channels", COMPLEX_MIN_CHANNELS)),
        "journey_cyclical_min_restarts": int(getattr(settings, "journey_cyclical_min_restarts", CYCLICAL_MIN_RESTARTS)),
        "journey_branching_min_detours": int(getattr(settings, "journey_branching_min_detours", BRANCHING_MIN_DETOURS)),
    }


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
    out = {
        "cycle_number": np.ones(n, dtype=np.int32),
        "is_return": np.zeros(n, dtype=bool),
        "is_restart": np.zeros(n, dtype=bool),
        "is_revisit": np.zeros(n, dtype=bool),
        "previous_highest_rank": np.zeros(n, dtype=np.int16),
    }
    if n == 0:
        return out
    journey = np.asarray(journey, dtype=np.int64)
    n_journeys = int(journey.max()) + 1
    lengths = np.bincount(journey, minlength=n_journeys)
    by_length = np.argsort(-lengths, kind="stable")
    slot = np.empty(n_journeys, dtype=np.int64)
    slot[by_length] = np.arange(n_journeys)
    sorted_lengths = lengths[by_length]
    max_length = int(sorted_lengths[0])
    active = n_journeys - np.cumsum(np.bincount(lengths, minlength=max_length + 1))[:max_length]
    start = np.zeros(max_length + 1, dtype=np.int64)
    start[1:] = np.cumsum(active)
    position = start[np.asarray(step_number, dtype=np.int64) - 1] + slot[journey]

    def step_major(values, dtype):
        laid_out = np.empty(n, dtype=dtype)
        laid_out[position] = values
        return laid_out

    walks = step_major(is_walk_step, bool)
    ranks = step_major(np.where(is_walk_step, stage_rank, 0), np.int16)
    conversions = step_major(is_conversion, bool) & walks
    types = step_major(np.where(is_walk_step, event_type, 0), np.int64)
    n_words = int(types.max()) // 64 + 1
    words, bits = types >> 6, np.left_shift(np.uint64(1), (types & 63).astype(np.uint64))

    cycle = np.ones(n_journeys, dtype=np.int32)
    highest = np.zeros(n_journeys, dtype=np.int16)
    has_conversion = np.zeros(n_journeys, dtype=bool)
    last_type = np.full(n_journeys, -1, dtype=np.int64)
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
        t, word, bit = types[here], words[here], bits[here]
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
            seen_set = {int(wd) * 64 + b for wd in range(n_words) for b in range(64) if int(seen[s, wd]) >> b & 1}
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

    out["cycle_number"] = cycle_out[position]
    out["is_return"] = return_out[position]
    out["is_restart"] = restart_out[position]
    out["is_revisit"] = revisit_out[position]
    out["previous_highest_rank"] = previous_out[position]
    return out


def _codes(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    return pc.dictionary_encode(column).indices.to_numpy(zero_copy_only=False).astype(np.int64)


def journey_steps(touchpoints: pa.Table, journey_gap_days: float, scalar_below: int = _SCALAR_BELOW) -> pa.Table:
    """Cut touchpoints into journeys and walk them.

    touchpoints: row_key, person_id, occurred_at, channel, event_type, stage_rank (NULL when
    unmapped), is_detour_kind, is_conversion — one row per touchpoint that has a person, sorted
    by (person_id, occurred_at, event_id). Returns, aligned with the input: row_key, step_number,
    journey_started_at, is_repeat, seconds_since_previous_step and the walk's flags (cycle_number,
    is_return, is_restart, is_detour, is_revisit, previous_highest_stage_rank), plus
    is_first_channel_use and is_first_detour, which let SQL list channels and detours in order.
    """
    n = touchpoints.num_rows
    person = touchpoints.column("person_id").combine_chunks()
    occurred = touchpoints.column("occurred_at").to_numpy().astype("datetime64[us]").view(np.int64)
    event_type = _codes(touchpoints.column("event_type"))
    channel = _codes(touchpoints.column("channel"))
    is_mapped = pc.is_valid(touchpoints.column("stage_rank")).to_numpy()
    stage_rank = pc.fill_null(touchpoints.column("stage_rank"), 0).to_numpy()
    is_detour_kind = pc.fill_null(touchpoints.column("is_detour_kind"), False).to_numpy()
    is_conversion = pc.fill_null(touchpoints.column("is_conversion"), False).to_numpy()

    since_previous = np.zeros(n, dtype=np.int64)
    since_previous[1:] = np.diff(occurred)
    is_start = np.ones(n, dtype=bool)
    if n > 1:
        is_start[1:] = pc.not_equal(person.slice(1), person.slice(0, n - 1)).to_numpy(zero_copy_only=False)
    is_start |= since_previous > int(journey_gap_days * 86_400 * 1_000_000)
    journey = np.cumsum(is_start) - 1
    first_row = np.flatnonzero(is_start)
    step_number = np.arange(n) - first_row[journey] + 1
    is_repeat = np.zeros(n, dtype=bool)
    is_repeat[1:] = (event_type[1:] == event_type[:-1]) & (channel[1:] == channel[:-1])
    is_repeat &= ~is_start

    is_walk_step = is_mapped & ~is_repeat
    walked = walk(journey, step_number, stage_rank, is_conversion, is_walk_step, event_type, scalar_below=scalar_below)
    is_detour = is_walk_step & (is_detour_kind | walked["is_revisit"])

    def first_of(keys: np.ndarray, where: np.ndarray) -> np.ndarray:
        # Rows are in journey order, so np.unique's first index is the first use in the journey.
        flags = np.zeros(n, dtype=bool)
        rows = np.flatnonzero(where)
        flags[rows[np.unique(keys[rows], return_index=True)[1]]] = True
        return flags

    n_channels = int(channel.max()) + 1 if n else 1
    detour_label = event_type * 2 + (~is_detour_kind)  # a revisit of a main step is labelled apart
    return pa.table({
        "row_key": touchpoints.column("row_key"),
        "step_number": pa.array(step_number, pa.int64()),
        "journey_started_at": pa.array(occurred[first_row][journey].astype("datetime64[us]")),
        "is_repeat": is_repeat,
        "seconds_since_previous_step": pa.array(since_previous / 1e6, pa.float64(), mask=is_start),
        "cycle_number": walked["cycle_number"],
        "is_return": walked["is_return"],
        "is_restart": walked["is_restart"],
        "is_detour": is_detour,
        "is_revisit": walked["is_revisit"],
        "previous_highest_stage_rank": np.where(is_walk_step, walked["previous_highest_rank"], 0).astype(np.int16),
        "is_first_channel_use": first_of(journey * n_channels + channel, np.ones(n, dtype=bool)),
        "is_first_detour": first_of(journey * (2 * (int(event_type.max()) + 1 if n else 1)) + detour_label, is_detour),
    })


_READ = """
select rowid as row_key, person_id, occurred_at, channel, event_type, stage_rank,
       stage_kind = 'detour' as is_detour_kind, is_conversion
from intermediate.int_touchpoints_stitched
where person_id is not null
order by person_id, occurred_at, event_id
"""

_MATERIALIZE = """
select
    md5(touchpoints.person_id || '|' || strftime(walk.journey_started_at, '%Y-%m-%dT%H:%M:%S.%f')) as journey_id,
    touchpoints.person_id,
    touchpoints.event_id,
    walk.step_number,
    walk.journey_started_at,
    touchpoints.occurred_at,
    touchpoints.channel,
    touchpoints.event_type,
    touchpoints.stage,
    touchpoints.stage_rank,
    touchpoints.stage_kind,
    touchpoints.is_conversion,
    walk.is_repeat,
    walk.seconds_since_previous_step,
    walk.cycle_number,
    walk.is_return,
    walk.is_restart,
    walk.is_detour,
    walk.is_revisit,
    walk.previous_highest_stage_rank,
    walk.is_first_channel_use,
    walk.is_first_detour,
    touchpoints.session_id,
    touchpoints.order_id,
    touchpoints.revenue,
    touchpoints.currency,
    touchpoints.campaign,
    touchpoints.source,
    touchpoints.medium,
    touchpoints.product_id,
    touchpoints.ticket_id,
    touchpoints.nps_score,
    touchpoints.csat_score,
    touchpoints.ces_score,
    touchpoints.issue_category
from intermediate.int_touchpoints_stitched as touchpoints
join _journey_walk as walk on walk.row_key = touchpoints.rowid
"""


def build_int_journey_steps(con: duckdb.DuckDBPyConnection, settings: Settings) -> int:
    """One row per touchpoint of a person, cut into journeys and numbered in journey order, with
    what the shape rules see. A journey is a person's touchpoints with no gap longer than
    journey_gap_days, ordered by occurred_at (never by arrival, so late events take their place);
    its id is the md5 of the person and its start, the same on every rebuild of the same data.
    Touchpoints whose identifiers are all placeholders have no person and no journey.
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
      session_id: web or app session
      order_id: order the event belongs to
      revenue: order value in currency
      currency: ISO 4217 code
      campaign: marketing campaign
      source: traffic source
      medium: traffic medium
      product_id: product the event is about
      ticket_id: support ticket the event belongs to
      nps_score: would-recommend score 0-10
      csat_score: satisfaction score 1-5
      ces_score: customer effort score 1-7, lower is easier
      issue_category: what a support contact was about
    """
    con.complete()  # DuckDB 2.0: a half-read execute() result blocks register() and sql()
    touchpoints = con.sql(_READ).to_arrow_table()
    walked = journey_steps(touchpoints, settings.journey_gap_days)
    del touchpoints
    con.register("_journey_walk", walked)
    try:
        return runner.replace_table(con, "intermediate.int_journey_steps", _MATERIALIZE,
                                    doc=runner.parse_doc(build_int_journey_steps.__doc__))
    finally:
        con.complete()  # the row count's result, half read (DuckDB 2.0 refuses unregister until it is done)
        con.unregister("_journey_walk")
