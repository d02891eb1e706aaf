"""Subscriptions: a start, a welcome series, product use, and a renewal every 30 days until the end.

Each renewal is a conversion at the decision stage that follows retention-stage use, so the
classifier sees a restart: subscription journeys are cyclical by construction, as long as the
first renewal happens (it always does here; cancelling or lapsing is possible from the second).
"""

from __future__ import annotations

import random

from .identity import Customer
from .plan import Plan
from .segments import charge
from .timing import DAY, click_s, days_s, hours_s, minutes_s

_FEATURES = tuple({"feature": f} for f in ("dashboard", "search", "reports", "playlist", "sharing", "settings"))


def usage(p: Plan, rng: random.Random, channel: str, until_s: float, active_days_share: float) -> None:
    """Product use in sessions of one to five events, on about `active_days_share` of the days."""
    while True:
        gap = rng.expovariate(active_days_share / DAY) + 60.0
        if p.t_s + gap >= until_s:
            return
        p.add("product_usage", channel, gap, None, rng.choice(_FEATURES))
        for _ in range(rng.randint(0, 4)):
            p.add("product_usage", channel, minutes_s(rng, 1, 20), None, rng.choice(_FEATURES))


def subscribe(p: Plan, rng: random.Random, c: Customer, shop: str, notice_channel: str, onboarding_channel: str,
              horizon_s: float, plans: tuple[tuple[str, float], ...], cancel_rate: float = 0.12,
              silent_churn_rate: float = 0.08) -> None:
    """A monthly subscription: start, onboarding, use, and a renewal notice a few days before each renewal.

    The first renewal always happens (that is what makes the journey cyclical); after that each
    month the customer may cancel, lapse silently (stops using and paying: a churner who just
    goes quiet) or renew. Nothing is written past `horizon_s`, except that first renewal.
    """
    product_id, price = rng.choice(plans)
    sub = {"subscription_id": c.new_subscription_id(), "plan": product_id}
    p.login(shop)
    p.add("subscription_start", shop, click_s(rng), charge(c, product_id, price), sub)
    started_s = p.t_s
    for i in range(rng.randint(1, 3)):  # a welcome series
        p.add("onboarding", onboarding_channel, hours_s(rng, 0.2, 30) if i == 0 else days_s(rng, 1, 4), None, sub)
    active = rng.uniform(0.35, 0.95)
    month = 1
    while True:
        renew_s = started_s + month * 30 * DAY
        notice_s = renew_s - days_s(rng, 3, 7)
        if month > 1 and renew_s > horizon_s:
            usage(p, rng, shop, min(horizon_s, notice_s), active)
            return
        usage(p, rng, shop, notice_s, active)
        p.add("renewal_notice", notice_channel, notice_s - p.t_s, None, sub)
        if rng.random() < 0.5:  # a reminder the day before
            p.add("renewal_notice", notice_channel, max(1.0, renew_s - DAY - p.t_s), None, sub)
        if month > 1:
            fate = rng.random()
            if fate < cancel_rate:
                reason = rng.choice(("price", "not_using", "switched", "other"))
                p.add("subscription_cancelled", shop, hours_s(rng, 1, 72), None, {**sub, "reason": reason})
                return
            if fate < cancel_rate + silent_churn_rate:
                return
        p.add("subscription_renewed", shop, renew_s - p.t_s, charge(c, product_id, price), sub)
        month += 1
