"""Journey shapes: linear, branching, cyclical or complex, and why.

The rules, on a journey's touchpoints in order:

1. Consecutive touchpoints with the same event type and channel collapse into one step
   (`is_repeat`, set in SQL by int_journey_touchpoints).
2. Walk the steps whose event type the stage model maps (unmapped ones are skipped), keeping the
   highest stage reached in the current cycle. A step at a lower stage is a *restart* if the
   cycle already holds a conversion — a new cycle begins there — and a *return* otherwise.
3. *Detours* are steps of kind `detour` plus non-consecutive revisits of an event type already
   seen in the current cycle.
4. `complex` if returns >= 1 or distinct channels >= 3; else `cyclical` if restarts >= 1; else
   `branching` if detours >= 1; else `linear` (thresholds below, overridable by settings).

Step 2 is sequential: whether a step is a return depends on where the current cycle began, which
depends on earlier restarts. It runs in numpy over all journeys at once, one step index at a time:
with journeys sorted by length, the journeys still active at step i are a prefix, and the steps
are laid out step-major so each iteration reads one contiguous slice. The few very long journeys
left at the end (a bot, a call-centre number) finish in a plain loop, so a 100k-step journey
does not cost 100k numpy iterations. The per-journey counts and the reason text are SQL
(marts/journeys.sql) over the per-step flags computed here.
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


def classify_steps(steps: pa.Table | pd.DataFrame, scalar_below: int = _SCALAR_BELOW) -> pd.DataFrame:
    """Per-touchpoint walk flags for journeys.

    steps: row_key, journey_id, step_number, stage_rank (NULL when unmapped), is_detour_kind,
    is_conversion, is_repeat, event_type — one row per touchpoint of every journey.
    Returns row_key, cycle_number, is_return, is_restart, is_detour, is_revisit,
    previous_highest_stage_rank.
    """
    table = steps if isinstance(steps, pa.Table) else pa.Table.from_pandas(steps, preserve_index=False)

    def column(name: str, fill=None) -> np.ndarray:
        values = table.column(name)
        if fill is not None:
            values = pc.fill_null(values, fill)
        return values.to_numpy()

    is_mapped = pc.is_valid(table.column("stage_rank")).to_numpy()
    is_walk_step = is_mapped & ~column("is_repeat", False)
    result = walk(
        _codes(table.column("journey_id")),
        column("step_number"),
        column("stage_rank", 0),
        column("is_conversion", False),
        is_walk_step,
        _codes(table.column("event_type")),
        scalar_below=scalar_below,
    )
    return pd.DataFrame({
        "row_key": column("row_key"),
        "cycle_number": result["cycle_number"],
        "is_return": result["is_return"],
        "is_restart": result["is_restart"],
        "is_detour": is_walk_step & (column("is_detour_kind", False) | result["is_revisit"]),
        "is_revisit": result["is_revisit"],
        "previous_highest_stage_rank": np.where(is_walk_step, result["previous_highest_rank"], 0).astype(np.int16),
    })


def build_int_journey_steps(con: duckdb.DuckDBPyConnection, settings: Settings) -> int:
    """One row per touchpoint of a journey, in journey order, with what the shape rules see: the
    cycle it falls in and whether it is a return, a restart or a detour. Cycles begin where a
    journey steps back to a lower stage after a conversion (a renewal, a repeat purchase).
    columns:
      journey_id: md5 of person_id and journey_started_at
      person_id: the stitched person
      event_id: the touchpoint
      step_number: 1..n in journey order
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
      cycle_number: 1 + restarts so far: which cycle of the journey the touchpoint falls in
      is_return: a step back to a lower stage before the cycle converted
      is_restart: a step back to a lower stage after the cycle converted: a new cycle begins here
      is_detour: a detour-kind step, or a non-consecutive revisit of an event type seen earlier in the cycle
      is_revisit: a non-consecutive revisit of an event type seen earlier in the cycle
      previous_highest_stage_rank: highest stage rank of the cycle before this step (0: none yet)
    """
    con.complete()  # DuckDB 2.0: a half-read execute() result blocks register() and sql()
    steps = con.sql(
        """
        select rowid as row_key, journey_id, step_number, stage_rank, stage_kind = 'detour' as is_detour_kind,
               is_conversion, is_repeat, event_type
        from intermediate.int_journey_touchpoints
        """
    ).to_arrow_table()
    flags = classify_steps(steps)
    del steps
    con.register("_journey_walk", flags)
    try:
        return runner.replace_table(
            con,
            "intermediate.int_journey_steps",
            """
            select touchpoints.*, walk.* exclude (row_key)
            from intermediate.int_journey_touchpoints as touchpoints
            join _journey_walk as walk on walk.row_key = touchpoints.rowid
            """,
            doc=runner.parse_doc(build_int_journey_steps.__doc__),
        )
    finally:
        con.complete()  # the row count's result, half read (DuckDB 2.0 refuses unregister until it is done)
        con.unregister("_journey_walk")
