"""The two kinds of customer the business has, and how their journeys differ.

B2C buyers decide in hours to days, on impulse and emotion, on web, app, store and social. B2B
buyers decide in weeks, through content (brochures, webinars, demos), quotes and account e-mails.
A persona fixes the shares of journey shapes and the pace between visits; the recipes in
`b2c.py` and `b2b.py` fix what happens inside a journey.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .timing import DAY, HOUR, MINUTE

SHAPES = ("linear", "branching", "cyclical", "complex")


@dataclass(frozen=True)
class Persona:
    name: str
    share: float
    """Share of customers with this persona."""
    shape_weights: tuple[float, float, float, float]
    """Chance of each of SHAPES for a new journey."""
    conversion_rate: float
    """Chance that a linear, branching or complex journey ends in a purchase (cyclical ones always do)."""
    comeback_rate: float
    """Chance that a customer starts another journey after a quiet spell of more than 90 days."""
    visit_gap_min_s: float
    visit_gap_mean_s: float
    """Time between two visits of one journey: a floor plus an exponential tail."""

    def next_visit_s(self, rng: random.Random) -> float:
        return self.visit_gap_min_s + rng.expovariate(1.0 / self.visit_gap_mean_s)

    def pick_shape(self, rng: random.Random) -> str:
        return rng.choices(SHAPES, self.shape_weights)[0]


B2C = Persona("b2c", share=0.8, shape_weights=(0.24, 0.25, 0.27, 0.24), conversion_rate=0.5, comeback_rate=0.5,
              visit_gap_min_s=40 * MINUTE, visit_gap_mean_s=14 * HOUR)
B2B = Persona("b2b", share=0.2, shape_weights=(0.12, 0.33, 0.20, 0.35), conversion_rate=0.45, comeback_rate=0.4,
              visit_gap_min_s=0.5 * DAY, visit_gap_mean_s=3.5 * DAY)


def pick_persona(rng: random.Random) -> Persona:
    return B2B if rng.random() < B2B.share else B2C
