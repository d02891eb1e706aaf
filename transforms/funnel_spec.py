"""What a funnel asks for, checked once: steps, order, window, exclusions, unit (transforms/funnel.py has the rules)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

ORDERS = ("ordered", "strict", "any")
UNITS = {"person": "person_id", "journey": "journey_id"}
_WINDOW = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_RANGE = re.compile(r"^(.*?):\s*(\d+)\s*-\s*(\d+)\s*$")


class FunnelError(ValueError):
    """A funnel that cannot be computed as asked; the message says why."""


class FunnelWarning(UserWarning):
    """A funnel that was computed but probably not as meant (a step or exclusion never seen)."""


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


@dataclass(frozen=True)
class Exclusion:
    """An excluded event type and the steps it applies between (numbered from 1; None = first and last)."""

    event_type: str
    from_step: int | None = None
    to_step: int | None = None

    def __str__(self) -> str:
        return self.event_type if self.from_step is None else f"{self.event_type}:{self.from_step}-{self.to_step}"


def parse_exclusion(text: str | Exclusion) -> Exclusion:
    """'event' or 'event:FROM-TO' (steps numbered from 1), as `--exclude` takes it."""
    if isinstance(text, Exclusion):
        return text
    match = _RANGE.match(text.strip())
    if match is None:
        return Exclusion(text.strip().lower())
    return Exclusion(match.group(1).strip().lower(), int(match.group(2)), int(match.group(3)))


@dataclass(frozen=True)
class FunnelSpec:
    steps: tuple[str, ...]
    order: str
    window_s: float
    exclusions: tuple[Exclusion, ...]
    """Each with from_step and to_step filled in."""
    unit: str


def funnel_spec(steps: Sequence[str], window, order: str, exclude: Sequence[str | Exclusion], unit: str) -> FunnelSpec:
    """The request checked against the rules; FunnelError says what is impossible."""
    steps = tuple(s.strip().lower() for s in steps if s and s.strip())
    if len(steps) < 2:
        raise FunnelError("a funnel needs at least two steps")
    if order not in ORDERS:
        raise FunnelError(f"order {order!r}: expected one of {', '.join(ORDERS)}")
    if unit not in UNITS:
        raise FunnelError(f"unit {unit!r}: expected one of {', '.join(UNITS)}")
    if order == "any" and len(set(steps)) < len(steps):
        raise FunnelError("in 'any' order every step must be a different event type")
    n = len(steps)
    exclusions = []
    for item in exclude:
        if not isinstance(item, Exclusion) and not (item and item.strip()):
            continue
        parsed = parse_exclusion(item)
        if not parsed.event_type:
            raise FunnelError(f"--exclude {item!r}: no event type")
        first, last = (1, n) if parsed.from_step is None else (parsed.from_step, parsed.to_step)
        if not 1 <= first < last <= n:
            raise FunnelError(f"--exclude {parsed}: the step range must be FROM-TO with 1 <= FROM < TO <= {n} "
                              f"(steps are numbered from 1)")
        if order == "any" and (first, last) != (1, n):
            raise FunnelError(f"--exclude {parsed}: in 'any' order steps have no positions, so an exclusion "
                              f"covers the whole funnel (1-{n})")
        exclusions.append(Exclusion(parsed.event_type, first, last))
    overlap = sorted(set(steps) & {e.event_type for e in exclusions})
    if overlap:
        raise FunnelError(f"{', '.join(overlap)} cannot be both a step and excluded")
    return FunnelSpec(steps, order, parse_window(window), tuple(exclusions), unit)
