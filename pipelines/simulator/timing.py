"""Time units and the small gaps every recipe needs, all in seconds.

Recipes write journeys in seconds from the journey's start; only `events.py` turns them into
datetimes, once, so plans can be shifted or compressed to fit the simulated window cheaply.
"""

from __future__ import annotations

import random

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0
QUIET_BEFORE_COMEBACK_S = (92 * DAY, 140 * DAY)
"""A returning customer's silence: always longer than the 90-day journey gap, so it is a new journey."""


def click_s(rng: random.Random) -> float:
    """Between two hits of one visit."""
    return rng.uniform(6.0, 100.0)


def minutes_s(rng: random.Random, lo: float, hi: float) -> float:
    return rng.uniform(lo * MINUTE, hi * MINUTE)


def hours_s(rng: random.Random, lo: float, hi: float) -> float:
    return rng.uniform(lo * HOUR, hi * HOUR)


def days_s(rng: random.Random, lo: float, hi: float) -> float:
    return rng.uniform(lo * DAY, hi * DAY)
