"""Building blocks the recipes chain: awareness, browsing, checkout, delivery, surveys, advocacy.

Each block moves forward through the five stages (awareness → consideration → decision →
retention → advocacy) and repeats an event type only back to back on one channel, which the
classifier collapses. So a recipe controls a journey's shape by *which* blocks it chains, on
*which* channels, and whether it adds detours (review_read, compare, surveys, tickets ...).
"""

from __future__ import annotations

import random

from .catalog import B2C_PRODUCTS, CAMPAIGNS, pick_product
from .identity import Customer
from .plan import Plan
from .surveys import purchase_quality, scores, survey
from .timing import click_s, days_s, hours_s, minutes_s

WISHLIST_RATE = 0.05
COUPON_RATE = 0.12
"""Rates of the two event types the stage models do not know (wishlist_add, coupon_applied):
real trackers always send some, and the classifier must ignore them."""

B2C_DETOURS = {"web": ("review_read", "compare", "video_watch"),
               "mobile_app": ("review_read", "compare", "video_watch"),
               "social": ("video_watch",)}
_PAGES = tuple({"page": page} for page in ("/", "/new", "/sale", "/category/home", "/category/fashion", "/stores"))


def awareness(p: Plan, rng: random.Random, shop: str, media: str | None) -> dict | None:
    """First contact with the brand. Returns the campaign whose click brought the person in, if any."""
    if media == "social":
        utm = rng.choice(CAMPAIGNS["paid_social"])
        for _ in range(rng.randint(2, 8)):  # frequency capping allows a handful per person
            p.add("ad_impression", "social", hours_s(rng, 0.5, 20), utm)
        if rng.random() < 0.35:
            p.add("social_view", "social", hours_s(rng, 0.2, 10), rng.choice(CAMPAIGNS["organic_social"]))
        if shop == "store" and rng.random() < 0.5:
            return None  # saw the ad, will simply walk into a store
        p.add("ad_click", "social", minutes_s(rng, 1, 90), utm)
        return utm
    if media == "email":
        utm = rng.choice(CAMPAIGNS["newsletter"])
        p.add("email_sent", "email", minutes_s(rng, 5, 60), utm)
        p.add("email_open", "email", hours_s(rng, 0.1, 18), utm)
        return utm
    utm = None
    if shop == "web":
        if rng.random() < 0.35:
            utm = rng.choice(CAMPAIGNS["display"])
            for _ in range(rng.randint(1, 5)):
                p.add("ad_impression", "web", hours_s(rng, 0.5, 12), utm)
            utm = None
        if rng.random() < 0.6:
            utm = rng.choice(CAMPAIGNS["search"])
            p.add("ad_click", "web", hours_s(rng, 0.2, 24), utm)
    elif shop == "mobile_app" and rng.random() < 0.3:
        for _ in range(rng.randint(1, 4)):
            p.add("ad_impression", "mobile_app", hours_s(rng, 0.5, 12), CAMPAIGNS["in_app"][0])
    return utm


def landing(p: Plan, rng: random.Random, shop: str, utm: dict | None) -> None:
    """A few pages on arrival; the first carries the campaign of the click, as a utm-tagged URL would."""
    p.add("page_view", shop, click_s(rng) if utm else hours_s(rng, 0.2, 8), utm, rng.choice(_PAGES))
    for visit in range(rng.choice((1, 1, 2))):
        for i in range(rng.randint(1, 8)):
            p.add("page_view", shop, hours_s(rng, 1, 20) if visit and not i else click_s(rng), None, rng.choice(_PAGES))


def browse(p: Plan, rng: random.Random, c: Customer, shop: str, channels: set[str], n_detours: int,
           gap_s: float) -> tuple[str, float]:
    """Consideration: product pages (or a store visit), plus `n_detours` side trips. Returns the chosen product."""
    product = pick_product(rng, B2C_PRODUCTS)
    if shop == "store":
        for _ in range(n_detours if "social" in channels else 0):
            p.add("video_watch", "social", hours_s(rng, 0.5, 12), None, {"product_id": product[0]})
        c.ensure_loyalty_card()
        p.add("store_visit", "store", gap_s, {"product_id": product[0]}, {"store": f"S{rng.randrange(1, 40):02d}"})
        return product
    for visit in range(rng.choice((1, 2, 2, 3, 4, 5))):  # later visits land straight on product pages
        for i in range(rng.randint(2, 7)):
            product = pick_product(rng, B2C_PRODUCTS)
            first_gap_s = gap_s if visit == 0 else c.persona.next_visit_s(rng)
            p.add("product_view", shop, first_gap_s if i == 0 else click_s(rng), {"product_id": product[0]})
    options = [(kind, ch) for ch in sorted(channels) if ch in B2C_DETOURS for kind in B2C_DETOURS[ch]]
    for _ in range(n_detours):
        kind, channel = rng.choice(options)
        p.add(kind, channel, click_s(rng) if channel == shop else minutes_s(rng, 2, 120), {"product_id": product[0]})
        if rng.random() < 0.5:
            p.add("product_view", shop, click_s(rng) if channel == shop else minutes_s(rng, 2, 60), {"product_id": product[0]})
    return product


def charge(c: Customer, product_id: str, amount: float) -> dict:
    return {"order_id": c.new_order_id(), "revenue": round(amount, 2), "currency": c.currency, "product_id": product_id}


def purchase(p: Plan, rng: random.Random, c: Customer, channel: str, product: tuple[str, float], gap_s: float) -> dict:
    quantity = 1 if rng.random() < 0.8 else rng.randint(2, 3)
    order = charge(c, product[0], product[1] * quantity)
    p.add("purchase", channel, gap_s, order, {"items": str(quantity)})
    return order


def checkout(p: Plan, rng: random.Random, c: Customer, shop: str, product: tuple[str, float], convert: bool) -> dict | None:
    """Decision: cart and checkout online, or the till in a store. Non-buyers abandon the cart."""
    if shop == "store":
        return purchase(p, rng, c, "store", product, minutes_s(rng, 3, 40)) if convert else None
    pid = {"product_id": product[0]}
    if rng.random() < WISHLIST_RATE:
        p.add("wishlist_add", shop, click_s(rng), pid)
    if rng.random() < (0.6 if convert else 0.35):
        p.login(shop)
    p.add("add_to_cart", shop, click_s(rng), pid)
    if not convert:
        if rng.random() < 0.5:
            p.add("checkout_start", shop, click_s(rng), pid, {"step": "shipping"})
        return None
    p.login(shop)  # the shop needs an account to take the order; guest checkouts are identity noise
    p.add("checkout_start", shop, click_s(rng), pid, {"step": "shipping"})
    if rng.random() < COUPON_RATE:
        p.add("coupon_applied", shop, click_s(rng), None, {"coupon": rng.choice(("WELCOME10", "SPRING15", "FREESHIP"))})
    return purchase(p, rng, c, shop, product, click_s(rng))


def deliver(p: Plan, rng: random.Random, order: dict, channel: str, pickup: bool = False) -> None:
    """Retention starts with fulfilment: status notifications (shipped, out_for_delivery, delivered in
    properties['status']) on e-mail, SMS or app, or a click-and-collect pick-up scanned in the store."""
    fields = {"order_id": order["order_id"], "product_id": order["product_id"]}
    if pickup:
        p.add("delivery", channel, hours_s(rng, 4, 48), fields, {"fulfilment": "click_and_collect", "status": "collected"})
        return
    p.add("delivery", channel, hours_s(rng, 2, 30), fields, {"fulfilment": "home_delivery", "status": "shipped"})
    if rng.random() < 0.7:
        p.add("delivery", channel, days_s(rng, 0.5, 3), fields, {"fulfilment": "home_delivery", "status": "out_for_delivery"})
    p.add("delivery", channel, hours_s(rng, 1, 10), fields, {"fulfilment": "home_delivery", "status": "delivered"})


def purchase_survey(p: Plan, rng: random.Random, order: dict, channel: str) -> None:
    answer = scores(rng, purchase_quality(rng), ask_nps=True, ask_csat=rng.random() < 0.5, ask_ces=False)
    survey(p, rng, channel, days_s(rng, 1, 3), {"order_id": order["order_id"]}, "post_purchase", answer)


def advocate(p: Plan, rng: random.Random, c: Customer, channels: set[str], order: dict) -> None:
    """Advocacy, each act at most once: a review, a share, a referral, a loyalty sign-up."""
    own = next((ch for ch in ("web", "mobile_app") if ch in channels), None)
    pid = {"product_id": order["product_id"]}
    if own and rng.random() < 0.22:
        rating = rng.choices((5, 4, 3, 2, 1), (50, 25, 10, 7, 8))[0]
        p.add("review_written", own, days_s(rng, 1, 10), pid, {"rating": str(rating)})
    share = "social" if "social" in channels else ("mobile_app" if "mobile_app" in channels else None)
    if share and rng.random() < 0.15:
        p.add("social_share", share, hours_s(rng, 1, 72), pid)
    refer = next((ch for ch in ("email", "web", "mobile_app") if ch in channels), None)
    if refer and rng.random() < 0.06:
        p.add("referral", refer, days_s(rng, 1, 14), None, {"referral_code": f"R{c.index:x}"})
    join = next((ch for ch in ("web", "mobile_app", "store") if ch in channels), None)
    if join and c.loyalty_id is None and rng.random() < 0.08:
        p.add("loyalty_signup", join, days_s(rng, 0.1, 5), {"loyalty_id": c.ensure_loyalty_card()})


def unsubscribe(p: Plan, rng: random.Random, rate: float) -> None:
    """A retention exit: the customer leaves the newsletter after buying. Appended last, never stepped past."""
    if rng.random() < rate:
        p.add("unsubscribe", "email", days_s(rng, 1, 20), None, {"list": "newsletter"})


def ensure_three_channels(p: Plan, rng: random.Random) -> None:
    """A complex journey without a step back must span three channels: add the touches it lacks."""
    for event_type, channel in (("social_share", "social"), ("review_written", "web"), ("referral", "email")):
        if p.returned or len(p.channels) >= 3:
            return
        if channel not in p.channels:
            p.add(event_type, channel, days_s(rng, 0.5, 5))
