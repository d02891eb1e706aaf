"""Attempts, exclusions and the one attempt each unit counts by (grain: one row per counted unit).

The rules are in transforms/funnel.py; this is their vectorised form over funnel_events.Sequences.
An event is an index into the flat arrays; N (one past the last event) stands for "none", and the
arrays carry one sentinel there, so that following "none" stays "none". Every step is a column
of indices, one per attempt, found for all attempts at once:

- `following(code)[i]`: the first event of that type after i (or at i), in any unit; a step is
  kept only if it lies before the end of the attempt's unit;
- ordered: step k+1 = the first event of its type after step k; strict: the very next event;
- any: for every step type, its first event at or after the attempt's start.

Without exclusions an attempt whose next event starts another attempt of the same kind (two
step-1 events in a row; in `any` order two events of one step in a row) can never be the one a
unit counts by (the later one goes at least as deep, completes at the same event and starts
later), so those are dropped first: most events are repeated first steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from journeys.transforms.funnel_events import Codes, Sequences
from journeys.transforms.funnel_spec import FunnelSpec

_FAR = np.iinfo(np.int64).max // 4
"""A time later than any event: the sentinel's, so it is outside every window."""


@dataclass(frozen=True)
class Counted:
    unit: np.ndarray
    """Index of each counted unit (units whose every attempt was excluded are not here)."""
    depth: np.ndarray
    """Steps its counted attempt reached, 1..n."""
    at_us: np.ndarray
    """(units, n) times of that attempt's steps in the order reached; columns past depth are meaningless."""


class _Events:
    """The flat arrays with a sentinel event at index N."""

    def __init__(self, seq: Sequences):
        n = self.n = len(seq.at_us)
        if n >= np.iinfo(np.int32).max:
            raise ValueError(f"{n:,} events: more than a funnel reads at once")
        self.offsets = seq.offsets
        self.at = np.empty(n + 1, dtype=np.int64)
        self.at[:n], self.at[n] = seq.at_us, _FAR
        self.code = np.empty(n + 1, dtype=np.int8)
        self.code[:n], self.code[n] = seq.code, -1
        self._positions = np.arange(n, dtype=np.int32)
        self._following: dict[int, np.ndarray] = {}

    def following(self, code: int) -> np.ndarray:
        """For each event (and the sentinel), the first event of type `code` at or after it, else N."""
        if code not in self._following:
            first = np.empty(self.n + 1, dtype=np.int32)
            first[: self.n] = np.where(self.code[: self.n] == code, self._positions, self.n)
            first[self.n] = self.n
            np.minimum.accumulate(first[::-1], out=first[::-1])
            self._following[code] = first
        return self._following[code]

    def unit_end(self, events: np.ndarray) -> np.ndarray:
        """One past the last event of each event's unit (events are sorted)."""
        return self.offsets[np.searchsorted(self.offsets, events, side="right")]

    def unit_of(self, events: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.offsets, events, side="right") - 1


def count_attempts(seq: Sequences, spec: FunnelSpec, codes: Codes) -> Counted:
    ev = _Events(seq)
    window_us = int(round(spec.window_s * 1_000_000))
    if spec.order == "any":
        starts, depth, completion, at_us, excluded = _unordered(ev, spec, codes, window_us)
    else:
        starts, depth, completion, at_us, excluded = _sequential(ev, spec, codes, window_us)
    if excluded is not None:
        keep = ~excluded
        starts, depth, completion, at_us = starts[keep], depth[keep], completion[keep], at_us[:, keep]
    return _counted(ev.unit_of(starts), starts, depth, completion, at_us)


def _starts(ev: _Events, is_start: np.ndarray, spec: FunnelSpec, same_kind: np.ndarray) -> np.ndarray:
    """Indices of the attempts' first events; without exclusions, those whose next event (same unit)
    starts a dominating attempt are dropped (see the module docstring). `same_kind[i]`: events i and
    i + 1 would start attempts of the same kind."""
    if not (spec.exclusions or spec.order == "strict"):
        unit_starts = np.zeros(ev.n + 1, dtype=bool)
        unit_starts[ev.offsets] = True
        is_start = is_start.copy()
        is_start[:-1] &= ~(same_kind & ~unit_starts[1:ev.n])
    return np.flatnonzero(is_start).astype(np.int32)


def _sequential(ev: _Events, spec: FunnelSpec, codes: Codes, window_us: int):
    """ordered and strict: an attempt at every step-1 event; each step found from the previous one."""
    n_steps, strict = len(spec.steps), spec.order == "strict"
    is_first = ev.code[: ev.n] == codes.step_codes[0]
    starts = _starts(ev, is_first, spec, is_first[:-1] & is_first[1:])
    end = ev.unit_end(starts)
    steps = np.empty((n_steps, len(starts)), dtype=np.int32)
    steps[0] = starts
    for k in range(1, n_steps):
        previous, code = steps[k - 1], codes.step_codes[k]
        if strict:
            found = np.minimum(previous + 1, ev.n)
            found = np.where(ev.code[found] == code, found, ev.n)
        else:
            found = ev.following(code)[np.minimum(previous + 1, ev.n)]
        steps[k] = np.where(found < end, found, ev.n)
    at_us = ev.at[steps]
    started = at_us[0]
    reached = np.logical_and.accumulate((steps < ev.n) & (at_us - started <= window_us), axis=0)
    depth = reached.sum(axis=0)
    last = steps[depth - 1, np.arange(len(starts))]
    if not spec.exclusions:
        return starts, depth, last, at_us, None
    excluded = np.zeros(len(starts), dtype=bool)
    for exclusion, code in zip(spec.exclusions, codes.exclusion_codes):
        first, to = exclusion.from_step, exclusion.to_step
        if strict:
            # The attempt ends at the first event that is not its next step: only that one can be excluded.
            x = np.minimum(last + 1, ev.n)
            x = np.where((x < end) & (ev.code[x] == code), x, ev.n)
            hit = (depth >= first) & (depth < to) & (x < ev.n)
        else:
            x = ev.following(code)[np.minimum(steps[first - 1] + 1, ev.n)]
            x = np.where(x < end, x, ev.n)
            hit = (depth >= first) & (x < ev.n) & np.where(depth >= to, x < steps[to - 1], True)
        excluded |= hit & (ev.at[x] - started <= window_us)
    return starts, depth, last, at_us, excluded


def _unordered(ev: _Events, spec: FunnelSpec, codes: Codes, window_us: int):
    """any: an attempt at every step event; step k is reached by any k step types within the window."""
    n_steps = len(spec.steps)
    step_codes = np.array(codes.step_codes, dtype=np.int8)
    code = ev.code[: ev.n]
    starts = _starts(ev, np.isin(code, step_codes), spec, code[:-1] == code[1:])
    end = ev.unit_end(starts)
    firsts = np.stack([ev.following(code)[starts] for code in codes.step_codes])
    firsts = np.where(firsts < end, firsts, ev.n)
    started = ev.at[starts]
    within = (firsts < ev.n) & (ev.at[firsts] - started <= window_us)
    depth = within.sum(axis=0)
    at_us = np.sort(np.where(within, ev.at[firsts], _FAR), axis=0)
    completion = np.where(within, firsts, -1).max(axis=0)
    if not spec.exclusions:
        return starts, depth, completion, at_us, None
    excluded = np.zeros(len(starts), dtype=bool)
    for code in codes.exclusion_codes:
        x = ev.following(code)[np.minimum(starts + 1, ev.n)]
        x = np.where(x < end, x, ev.n)
        before_end = np.where(depth == n_steps, x < completion, True)
        excluded |= (x < ev.n) & before_end & (ev.at[x] - started <= window_us)
    return starts, depth, completion, at_us, excluded


def _counted(unit: np.ndarray, starts: np.ndarray, depth: np.ndarray, completion: np.ndarray,
             at_us: np.ndarray) -> Counted:
    """Per unit, its deepest attempt; among equals the one that completed it first, and among those
    (one completion shared by several starts) the latest start. `unit` is sorted (attempts come in event order)."""
    if len(unit) == 0:
        return Counted(unit, depth, at_us.T)
    first = np.flatnonzero(np.r_[True, unit[1:] != unit[:-1]])
    sizes = np.diff(np.r_[first, len(unit)])

    def per_unit(reduce, values):
        return np.repeat(reduce.reduceat(values, first), sizes)

    best = depth == per_unit(np.maximum, depth)
    best &= completion == per_unit(np.minimum, np.where(best, completion, np.iinfo(completion.dtype).max))
    best &= starts == per_unit(np.maximum, np.where(best, starts, -1))
    chosen = np.flatnonzero(best)
    return Counted(unit[chosen], depth[chosen], at_us[:, chosen].T)
