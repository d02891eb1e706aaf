"""The funnel table: one row per step (per breakdown value), from the counted units. No pandas here,
so `journeys funnel` prints without importing it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from journeys.transforms.funnel_attempts import Counted

COLUMNS = ("step_number", "step", "n_reached", "conversion_from_start", "conversion_from_previous",
           "drop_off_from_previous", "n_dropped_from_previous", "median_time_from_previous_s", "median_time_from_start_s")


@dataclass(frozen=True)
class FunnelTable:
    columns: tuple[str, ...]
    rows: list[tuple]
    """Plain Python values; None where a value is undefined (rates without a base, step 1's time from previous)."""
    warnings: list[str] = field(default_factory=list)


def funnel_table(counted: Counted, steps: tuple[str, ...], by: str | None, by_values: list[str] | None,
                 warnings: list[str]) -> FunnelTable:
    groups, labels = _groups(counted, by_values)
    rows = []
    for g, label in enumerate(labels):
        mine = groups == g
        depth, at_us = counted.depth[mine], counted.at_us[mine]
        previous = None
        first = None
        for k, step in enumerate(steps, start=1):
            reached = depth >= k
            n = int(reached.sum())
            first = n if k == 1 else first
            at = at_us[reached]
            from_previous = _median(at[:, k - 1] - at[:, k - 2]) if k > 1 else None
            from_start = _median(at[:, k - 1] - at[:, 0])
            conversion_previous = _rate(n, previous) if k > 1 else None
            row = (k, step, n, _rate(n, first), conversion_previous,
                   None if conversion_previous is None else 1.0 - conversion_previous,
                   None if previous is None else previous - n, from_previous, from_start)
            rows.append(row if by is None else (label, *row))
            previous = n
    columns = COLUMNS if by is None else (by, *COLUMNS)
    return FunnelTable(columns, rows, warnings)


def _groups(counted: Counted, by_values: list[str] | None) -> tuple[np.ndarray, list]:
    """Group index of each counted unit and the group labels, sorted (one None group without a breakdown)."""
    if by_values is None:
        return np.zeros(len(counted.unit), dtype=np.int64), [None]
    values = [by_values[u] for u in counted.unit.tolist()]
    labels = sorted(set(values)) or [None]
    index = {label: i for i, label in enumerate(labels)}
    return np.array([index[v] for v in values], dtype=np.int64), labels


def _rate(n: int, base: int | None) -> float | None:
    return None if not base else n / base


def _median(us: np.ndarray) -> float | None:
    """Median seconds, interpolated between the middle two (DuckDB's quantile_cont(0.5))."""
    if len(us) == 0:
        return None
    value = float(np.median(us)) / 1_000_000
    return None if math.isnan(value) else value
