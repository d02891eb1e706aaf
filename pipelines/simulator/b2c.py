"""B2C journeys, one recipe per shape: hours to days, on web, app, store and social.

The recipes agree with the downstream shape classifier by construction:
- linear and branching keep to at most two channels and never step back a stage; branching adds
  side trips (reviews, comparisons, videos, a survey);
- cyclical comes back to the start only after buying: repeat orders, or a subscription's
  renewal cycles;
- complex uses three or more channels (research on the web, buy in the app, pick up in the
  store; or a support ticket) or steps back before buying (an abandoned cart and second thoughts).
"""

from __future__ import annotations

import random

from .catalog import B2C_PLANS, CAMPAIGNS
from .identity import Customer
from .plan import Plan
from .segments import advocate, awareness, browse, checkout, deliver, ensure_three_channels, landing, purchase_survey, unsubscribe
from .subscriptions import subscribe
from .support import ticket
from .timing import DAY, click_s, days_s, hours_s, minutes_s

ChannelSet = tuple[str, str | None]
"""(shop, media): where the person browses and buys, and the one other channel that reaches them."""

FORWARD_SETS: tuple[ChannelSet, ...] = (("web", "email"), ("web", "social"), ("web", None), ("mobile_app", "email"),
                                        ("mobile_app", "social"), ("mobile_app", None), ("store", "social"), ("store", "email"))
REPEAT_SETS: tuple[ChannelSet, ...] = (("web", "email"), ("web", "social"), ("mobile_app", "email"), ("store", "email"))
SUBSCRIPTION_SETS: tuple[ChannelSet, ...] = (("web", "email"), ("mobile_app", "email"), ("mobile_app", "sms"), ("web", "sms"))


def _choose(rng: random.Random, c: Customer, sets: tuple[ChannelSet, ...]) -> ChannelSet:
    """Customers mostly stay with their preferred place to shop."""
    preferred = [s for s in sets if s[0] == c.shop]
    return rng.choice(preferred if preferred and rng.random() < 0.85 else sets)


def _plan(rng: random.Random, c: Customer, shop: str) -> Plan:
    device = shop if shop in ("web", "mobile_app") else None
    return Plan(device=device, logged_in=("mobile_app",) if rng.random() < 0.7 else ())


def _notify_channel(shop: str, media: str | None) -> str:
    return media if media in ("email", "sms") else shop


def _arrive(p: Plan, rng: random.Random, c: Customer, shop: str, media: str | None) -> float:
    """Awareness and the first visit; returns the gap before the first product page."""
    utm = awareness(p, rng, shop, media)
    if shop == "store":
        return c.persona.next_visit_s(rng)
    if media == "email" and rng.random() < 0.5:
        p.add("email_click", "email", minutes_s(rng, 0.5, 30), utm)
        return click_s(rng)
    landing(p, rng, shop, utm)
    return click_s(rng) if rng.random() < 0.7 else c.persona.next_visit_s(rng)


def _forward(p: Plan, rng: random.Random, c: Customer, shop: str, media: str | None, convert: bool,
             n_detours: int, survey_rate: float, unsubscribe_rate: float = 0.05) -> dict | None:
    """Awareness → consideration → decision → retention → advocacy, never stepping back."""
    channels = {shop, media} - {None}
    product = browse(p, rng, c, shop, channels, n_detours, _arrive(p, rng, c, shop, media))
    if not convert:
        if rng.random() < 0.6:
            checkout(p, rng, c, shop, product, convert=False)
        return None
    order = checkout(p, rng, c, shop, product, convert=True)
    if shop != "store":
        deliver(p, rng, order, _notify_channel(shop, media))
    if media in ("email", "sms") and rng.random() < survey_rate:
        purchase_survey(p, rng, order, media)
    n_before = len(p.steps)
    advocate(p, rng, c, channels, order)
    if media == "email" and len(p.steps) == n_before:
        unsubscribe(p, rng, unsubscribe_rate)
    return order


def linear(rng: random.Random, c: Customer, convert: bool, horizon_s: float) -> Plan:
    shop, media = _choose(rng, c, FORWARD_SETS)
    p = _plan(rng, c, shop)
    _forward(p, rng, c, shop, media, convert, n_detours=0, survey_rate=0.0)
    return p


def branching(rng: random.Random, c: Customer, convert: bool, horizon_s: float) -> Plan:
    if c.shop != "store" and rng.random() < 0.2:
        return _chat_helped(rng, c, convert)
    sets = tuple(s for s in FORWARD_SETS if s != ("store", "email"))  # a store has no side trips to take
    shop, media = _choose(rng, c, sets)
    p = _plan(rng, c, shop)
    _forward(p, rng, c, shop, media, convert, n_detours=rng.randint(1, 3), survey_rate=0.5)
    return p


def _chat_helped(rng: random.Random, c: Customer, convert: bool) -> Plan:
    """Shop and chat widget only: a question before buying, or a ticket about the delivery after."""
    shop = c.shop
    p = _plan(rng, c, shop)
    if rng.random() < 0.5:
        p.login("chat")  # the widget shares the shop's sign-in
    product = browse(p, rng, c, shop, {shop}, rng.randint(0, 1), _arrive(p, rng, c, shop, None))
    if not convert or rng.random() < 0.3:
        p.add("chat_inquiry", "chat", minutes_s(rng, 1, 20), {"product_id": product[0]}, {"topic": "product_question"})
    order = checkout(p, rng, c, shop, product, convert)
    if order is None:
        return p
    deliver(p, rng, order, shop)
    ticket(p, rng, c, "chat", hours_s(rng, 2, 72), order["order_id"], None)
    advocate(p, rng, c, {shop}, order)
    return p


def cyclical(rng: random.Random, c: Customer, convert: bool, horizon_s: float) -> Plan:
    if horizon_s > 50 * DAY and rng.random() < 0.45:
        return _subscriber(rng, c, horizon_s)
    return _repeat_buyer(rng, c, horizon_s)


def _repeat_buyer(rng: random.Random, c: Customer, horizon_s: float) -> Plan:
    """Buys, receives, and comes back to buy again every few weeks; may abandon the last round."""
    shop, media = _choose(rng, c, REPEAT_SETS)
    channels = {shop, media} - {None}
    p = _plan(rng, c, shop)
    _forward(p, rng, c, shop, media, True, n_detours=rng.choice((0, 0, 1)), survey_rate=0.3, unsubscribe_rate=0.0)
    for round_ in range(rng.randint(1, 4)):
        gap_s = days_s(rng, 7, 35)
        if round_ > 0 and p.t_s + gap_s > horizon_s:
            break
        if media == "email":
            utm = rng.choice(CAMPAIGNS["winback"] + CAMPAIGNS["newsletter"])
            p.add("email_sent", "email", gap_s, utm)
            p.add("email_open", "email", hours_s(rng, 0.1, 20), utm)
            gap_s = hours_s(rng, 0.1, 24)
        elif media == "social":
            p.add("ad_impression", "social", gap_s, rng.choice(CAMPAIGNS["paid_social"]))
            gap_s = hours_s(rng, 0.5, 24)
        product = browse(p, rng, c, shop, channels, 0, gap_s)
        order = checkout(p, rng, c, shop, product, convert=rng.random() < 0.85)
        if order is None:
            break
        if shop != "store":
            deliver(p, rng, order, _notify_channel(shop, media))
    return p


def _subscriber(rng: random.Random, c: Customer, horizon_s: float) -> Plan:
    shop, notice = _choose(rng, c, SUBSCRIPTION_SETS)
    p = _plan(rng, c, shop)
    media = "email" if notice == "email" else None
    channels = {shop, notice}
    browse(p, rng, c, shop, channels, rng.choice((0, 0, 1)), _arrive(p, rng, c, shop, media))
    subscribe(p, rng, c, shop, notice, notice if notice == "email" else shop, horizon_s, B2C_PLANS)
    return p


def complex_(rng: random.Random, c: Customer, convert: bool, horizon_s: float) -> Plan:
    roll = rng.random()
    if roll < 0.4:
        p = _omnichannel(rng, c, convert)
    elif roll < 0.7 or not convert:
        p = _second_thoughts(rng, c, convert)
    else:
        p = _service(rng, c)
    ensure_three_channels(p, rng)
    return p


def _omnichannel(rng: random.Random, c: Customer, convert: bool) -> Plan:
    """Research in one place, buy in another, maybe collect in a store."""
    research, buy = rng.choice((("web", "mobile_app"), ("mobile_app", "web"), ("web", "store"),
                                ("store", "web"), ("mobile_app", "store"), ("store", "mobile_app")))
    media = rng.choice(("social", "email"))
    p = _plan(rng, c, research if research != "store" else buy)
    product = browse(p, rng, c, research, {research, media}, rng.randint(0, 2), _arrive(p, rng, c, research, media))
    if research != "store" and buy != "store" and rng.random() < 0.3:
        c.ensure_loyalty_card()
        p.add("store_visit", "store", c.persona.next_visit_s(rng), {"product_id": product[0]})
    if buy == "store":
        c.ensure_loyalty_card()
        if research != "store":
            p.add("store_visit", "store", c.persona.next_visit_s(rng), {"product_id": product[0]})
        order = checkout(p, rng, c, "store", product, convert)
    else:
        p.add("product_view", buy, c.persona.next_visit_s(rng), {"product_id": product[0]})
        order = checkout(p, rng, c, buy, product, convert)
    if order is None:
        return p
    if buy != "store":
        pickup = rng.random() < 0.4
        if pickup:
            c.ensure_loyalty_card()
        deliver(p, rng, order, "store" if pickup else _notify_channel(buy, media), pickup)
    if media == "email" and rng.random() < 0.35:
        purchase_survey(p, rng, order, "email")
    advocate(p, rng, c, {research, buy, media}, order)
    return p


def _second_thoughts(rng: random.Random, c: Customer, convert: bool) -> Plan:
    """Fills a cart, hesitates, goes back to researching (a reminder e-mail, reviews), then decides."""
    shop, media = _choose(rng, c, tuple(s for s in FORWARD_SETS if s[0] != "store"))
    channels = {shop, media} - {None}
    p = _plan(rng, c, shop)
    product = browse(p, rng, c, shop, channels, rng.randint(0, 1), _arrive(p, rng, c, shop, media))
    p.add("add_to_cart", shop, click_s(rng), {"product_id": product[0]})
    if rng.random() < 0.5:
        p.add("checkout_start", shop, click_s(rng), {"product_id": product[0]}, {"step": "shipping"})
    if media == "email" and rng.random() < 0.6:
        utm = rng.choice(CAMPAIGNS["cart_recovery"])
        p.add("email_sent", "email", hours_s(rng, 1, 24), utm)
        p.add("email_open", "email", hours_s(rng, 0.1, 12), utm)
        p.add("email_click", "email", minutes_s(rng, 0.5, 20), utm)
        gap_s = click_s(rng)
    else:
        p.add(rng.choice(("review_read", "compare")), shop, c.persona.next_visit_s(rng), {"product_id": product[0]})
        gap_s = click_s(rng)
    p.returned = True
    product = browse(p, rng, c, shop, channels, rng.randint(0, 2), gap_s)
    order = checkout(p, rng, c, shop, product, convert)
    if order is not None:
        deliver(p, rng, order, _notify_channel(shop, media))
        advocate(p, rng, c, channels, order)
    return p


def _service(rng: random.Random, c: Customer) -> Plan:
    """Buys online, then needs help: a call or a chat, perhaps twice, and a survey about it."""
    shop = "mobile_app" if c.shop == "mobile_app" else "web"
    notice = rng.choice(("email", "email", "sms"))
    p = _plan(rng, c, shop)
    media = "email" if notice == "email" and rng.random() < 0.5 else None
    product = browse(p, rng, c, shop, {shop}, rng.randint(0, 1), _arrive(p, rng, c, shop, media))
    order = checkout(p, rng, c, shop, product, convert=True)
    deliver(p, rng, order, notice)
    channel = rng.choice(("call_center", "chat"))
    if channel == "chat" and rng.random() < 0.6:
        p.login("chat")  # opened the chat from the account page
    ticket(p, rng, c, channel, hours_s(rng, 2, 72), order["order_id"], notice)
    return p
