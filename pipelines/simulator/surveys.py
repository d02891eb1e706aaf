"""Survey answers: NPS (0-10), CSAT (1-5) and CES (1-7, low is easy), from one latent experience.

One hidden quality in [0, 1] drives all three scores of an answer, so they agree with each other
the way real answers do; support waits lower it, so scores are worse after long waits.
"""

from __future__ import annotations

import random

from .plan import Plan
from .timing import HOUR


def _clip01(x: float) -> float:
    return 0.0 if x < 0.0 else 1.0 if x > 1.0 else x


def purchase_quality(rng: random.Random) -> float:
    """Most buyers are happy; with this spread NPS lands near +20, a typical retail figure."""
    return _clip01(rng.gauss(0.8, 0.17))


def support_quality(rng: random.Random, first_response_s: float, resolution_s: float) -> float:
    """Each hour of waiting for a first answer costs more than an hour of waiting for the fix;
    a quick answer and fix score like a good purchase."""
    wait_h, fix_h = first_response_s / HOUR, resolution_s / HOUR
    return _clip01(rng.gauss(0.85, 0.15) - 0.035 * min(wait_h, 12.0) - 0.003 * min(fix_h, 120.0))


def scores(rng: random.Random, quality: float, ask_nps: bool, ask_csat: bool, ask_ces: bool) -> dict:
    answer: dict = {}
    if ask_nps:
        answer["nps_score"] = min(10, max(0, round(10 * quality + rng.gauss(0, 0.8))))
    if ask_csat:
        answer["csat_score"] = min(5, max(1, round(1 + 4 * quality + rng.gauss(0, 0.4))))
    if ask_ces:
        answer["ces_score"] = min(7, max(1, round(7 - 6 * quality + rng.gauss(0, 0.5))))
    return answer


def survey(p: Plan, rng: random.Random, channel: str, gap_s: float, reference: dict, about: str, answer: dict) -> None:
    """A survey_response on e-mail or SMS; `reference` is {'order_id': ...} or {'ticket_id': ...}."""
    p.add("survey_response", channel, gap_s, {**reference, **answer}, {"survey": about})
