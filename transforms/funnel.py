"""Ad-hoc step funnels with PostHog's and Mixpanel's rules (grain: one row per step, per breakdown value).

    step_funnel(con, ["product_view", "add_to_cart", "purchase"], window="7d", order="ordered",
                exclude=["support_call:1-2"])

Unit: the **person** (`unit="journey"` counts journeys, steps staying inside one journey). A unit's
sequence is its touchpoints in marts.journey_steps from `since` to `as_of`, by occurred_at; events
at the same instant are taken excluded events first, then steps in funnel order, then the rest.
Steps are event types; a type may be listed twice in `ordered`/`strict` (then it must happen twice).

**Attempts.** Every step-1 event starts an attempt (in `any` order, every event of any step does).
`window` (7d, 12h, 30m, 90s, 2w or seconds) runs from the attempt's first event: a step later than
that does not count (exactly at the end still does).

- `ordered` (default; PostHog "sequential", Mixpanel's default): step k+1 is the first event of its
  type after step k; other events may come in between.
- `strict` (PostHog "strict order"): step k+1 must be the very next event, whatever its type; the
  first event that is not the next step ends the attempt.
- `any` (PostHog "any order", Mixpanel "any order"): step k counts attempts that did any k of the n
  steps within the window, whichever ones; step times are taken in the order they were done.

**Exclusions** (`exclude`: 'event' or 'event:FROM-TO', steps numbered from 1, default the whole
funnel 1-n; PostHog's exclusion steps). An attempt is **discarded** when an excluded event happens
after its step FROM and before its step TO, or, if it never reached TO, before its window ended (in
`strict` order: as the event that ended it). A discarded attempt counts at no step, not even the
steps before the excluded event. An attempt that never reached FROM is unaffected, and so is one
whose window had ended. In `any` order an exclusion covers the whole funnel (PostHog refuses
partial ranges there too): an excluded event after the attempt's first event, before it completed
every step, within its window, discards it.

**The unit counts by one attempt**: the deepest attempt not discarded; among equals the one that
completed its deepest step first, and, when several entries lead to that same completion, the
latest entry (Mixpanel: "A -> A -> A -> B is recorded as the last A -> B"). So a unit counts at
step k when any kept attempt reached step k, and **a unit whose every attempt was discarded is
left out of the funnel at every step**. Times (medians, interpolated) are that attempt's: from the
previous step and from step 1.

**Breakdown** (`by`): a column of marts.journey_steps (channel, campaign, product_id, ...) or of
marts.journeys (journey_type, persona, ...), PostHog's default "first touchpoint": the first value
that is not NULL on any of the unit's step events, so each unit is in one group ('(none)' when all
are NULL).

Conversion is given relative to step 1 (conversion_from_start) and to the previous step
(conversion_from_previous); drop-off is 1 - conversion_from_previous.

Event types that never occur in marts.journey_steps (a misspelled step or exclusion) are reported
as warnings naming the closest known types; the funnel is still computed (zero from that step on).
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Sequence

import duckdb
import numpy as np

from journeys.transforms.funnel_attempts import count_attempts
from journeys.transforms.funnel_events import OTHER, codes_for, read_sequences, unknown_event_types
from journeys.transforms.funnel_result import FunnelTable, funnel_table
from journeys.transforms.funnel_spec import (
    ORDERS,
    UNITS,
    Exclusion,
    FunnelError,
    FunnelWarning,
    funnel_spec,
    parse_exclusion,
    parse_window,
)

__all__ = ["ORDERS", "UNITS", "Exclusion", "FunnelError", "FunnelTable", "FunnelWarning", "compute_funnel",
           "parse_exclusion", "parse_window", "step_funnel"]


def compute_funnel(
    con: duckdb.DuckDBPyConnection,
    steps: Sequence[str],
    window: str | float | dt.timedelta = "7d",
    order: str = "ordered",
    exclude: Sequence[str | Exclusion] = (),
    by: str | None = None,
    as_of: dt.datetime | None = None,
    since: dt.datetime | None = None,
    unit: str = "person",
) -> FunnelTable:
    """The funnel as plain rows (see the module docstring for the rules), with its warnings."""
    spec = funnel_spec(steps, window, order, exclude, unit)
    codes = codes_for(spec)
    seq = read_sequences(con, spec, codes, by, as_of, since)
    counted = count_attempts(seq, spec, codes)
    present = np.bincount(seq.code, minlength=OTHER + 1) > 0
    missing = [event_type for event_type, code in codes.by_type.items() if not present[code]]
    notes = unknown_event_types(con, missing) if missing else []
    return funnel_table(counted, spec.steps, by, seq.by_values, notes)


def step_funnel(
    con: duckdb.DuckDBPyConnection,
    steps: Sequence[str],
    window: str | float | dt.timedelta = "7d",
    order: str = "ordered",
    exclude: Sequence[str | Exclusion] = (),
    by: str | None = None,
    as_of: dt.datetime | None = None,
    since: dt.datetime | None = None,
    unit: str = "person",
):
    """Counts, conversion and drop-off per step and median time between steps, as a DataFrame.

    One row per step (per breakdown value when `by` is given, in a column named after it):
    step_number, step, n_reached (persons, or journeys with unit="journey"), conversion_from_start,
    conversion_from_previous, drop_off_from_previous, n_dropped_from_previous,
    median_time_from_previous_s, median_time_from_start_s. `as_of` ignores later events (default:
    all); `since` ignores earlier ones, so attempts start on or after it. An event type never seen
    raises a FunnelWarning (the table is still returned).
    """
    import pandas as pd

    table = compute_funnel(con, steps, window, order, exclude, by, as_of, since, unit)
    for note in table.warnings:
        warnings.warn(note, FunnelWarning, stacklevel=2)
    frame = pd.DataFrame(table.rows, columns=list(table.columns))
    floats = ["conversion_from_start", "conversion_from_previous", "drop_off_from_previous",
              "median_time_from_previous_s", "median_time_from_start_s"]
    frame[floats] = frame[floats].astype("float64")
    frame["n_reached"] = frame["n_reached"].astype("int64")
    frame["n_dropped_from_previous"] = frame["n_dropped_from_previous"].astype("Int64")
    return frame
