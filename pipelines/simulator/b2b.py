"""B2B journeys, one recipe per shape: weeks long, driven by content, demos, quotes and account e-mails.

Same contract with the shape classifier as `b2c.py`. Nurture e-mails all come before the first
product page: an e-mail sent after it would be a step back to awareness, and only complex
journeys step back.
"""

from __future__ import annotations

import random

from .catalog import B2B_PLANS, B2B_PRODUCTS, CAMPAIGNS, pick_product
from .identity import Customer
from .plan import Plan
from .segments import charge, deliver, ensure_three_channels, purchase_survey
from .subscriptions import subscribe, usage
from .support import ticket
from .timing import DAY, click_s, days_s, hours_s

DETOUR_CHANNEL = {"brochure_download": "web", "webinar_attend": "web", "call_inquiry": "call_center",
                  "chat_inquiry": "chat"}
_TOPICS = tuple({"topic": t} for t in ("roi_calculator", "security", "integrations", "case_study", "pricing"))


def _nurture(p: Plan, rng: random.Random, rounds: int) -> None:
    """Account e-mails some days apart; a second round is a revisit, i.e. a detour."""
    for i in range(rounds):
        utm = rng.choice(CAMPAIGNS["b2b_email"])
        p.add("email_sent", "email", days_s(rng, 1, 8) if i else hours_s(rng, 1, 24), utm)
        if rng.random() < 0.75:
            p.add("email_open", "email", hours_s(rng, 0.2, 48), utm)


def _research(p: Plan, rng: random.Random, c: Customer, social: bool, email: bool, web: bool, detours: list[str],
              demo_channel: str) -> tuple[str, float]:
    """From a LinkedIn ad or the website to a demo request, with content side trips on the way."""
    visit = c.persona.next_visit_s
    utm = None
    if social:
        utm = rng.choice(CAMPAIGNS["b2b_social"])
        for _ in range(rng.randint(1, 3)):
            p.add("ad_impression", "social", days_s(rng, 0.2, 4), utm)
        p.add("ad_click", "social", hours_s(rng, 0.1, 30), utm)
    if web:  # several visits of several pages: colleagues read up over the weeks
        for v in range(rng.randint(1, 4)):
            gap_s = (click_s(rng) if utm else visit(rng)) if v == 0 else visit(rng)
            for i in range(rng.randint(2, 6)):
                p.add("page_view", "web", gap_s if i == 0 else click_s(rng), utm if v == i == 0 else None, rng.choice(_TOPICS))
    if email and rng.random() < 0.6:
        p.add("email_click", "email", visit(rng), rng.choice(CAMPAIGNS["b2b_email"]))
    product = pick_product(rng, B2B_PRODUCTS)
    if web:
        for _ in range(rng.randint(1, 3)):
            for i in range(rng.randint(1, 4)):
                p.add("product_view", "web", visit(rng) if i == 0 else click_s(rng), {"product_id": product[0]})
    for kind in detours:
        channel = DETOUR_CHANNEL[kind]
        p.add(kind, channel, visit(rng), {"product_id": product[0]}, rng.choice(_TOPICS))
        if channel == "call_center":
            p.verified = True  # the sales rep takes the caller's details during the call
    if demo_channel == "call_center":
        p.verified = True
    p.add("demo_request", demo_channel, visit(rng), {"product_id": product[0]})
    return product


def _deal(p: Plan, rng: random.Random, c: Customer, product: tuple[str, float], quote_channel: str,
          buy_channel: str, convert: bool) -> dict | None:
    """Decision: a quote, weeks of negotiation, maybe an order."""
    p.add("quote_request", quote_channel, c.persona.next_visit_s(rng), {"product_id": product[0]},
          {"quote_value": f"{product[1]:.2f}"})
    if not convert:
        return None
    if buy_channel == "web":
        p.login("web")
    else:
        p.verified = True
    order = charge(c, product[0], product[1] * rng.uniform(0.85, 1.0))
    p.add("purchase", buy_channel, days_s(rng, 3, 21), order, {"contract": "one_off"})
    return order


def _onboard(p: Plan, rng: random.Random, channel: str, usage_channel: str | None) -> None:
    p.add("onboarding", channel, days_s(rng, 1, 7), None, {"session": "kickoff"})
    if usage_channel:
        p.login(usage_channel)
        usage(p, rng, usage_channel, p.t_s + days_s(rng, 14, 60), rng.uniform(0.3, 0.7))


def linear(rng: random.Random, c: Customer, convert: bool, horizon_s: float) -> Plan:
    """Web and e-mail only, each step once: e-mail, site, demo, quote, order, onboarding, use."""
    p = Plan(device="web")
    _nurture(p, rng, 1)
    product = _research(p, rng, c, social=False, email=True, web=True, detours=[], demo_channel="web")
    if not convert and rng.random() < 0.3:
        return p
    order = _deal(p, rng, c, product, rng.choice(("web", "email")), "web", convert)
    if order:
        _onboard(p, rng, "email", "web")
    return p


def branching(rng: random.Random, c: Customer, convert: bool, horizon_s: float) -> Plan:
    if rng.random() < 0.3:
        return _phone_sales(rng, c, convert)
    p = Plan(device="web")
    _nurture(p, rng, rng.randint(1, 4))
    detours = rng.sample(("brochure_download", "webinar_attend", "brochure_download"), rng.randint(1, 3))
    product = _research(p, rng, c, social=False, email=True, web=True, detours=detours, demo_channel="web")
    order = _deal(p, rng, c, product, rng.choice(("web", "email")), "web", convert)
    if order:
        _onboard(p, rng, "email", None)
        if rng.random() < 0.4:
            purchase_survey(p, rng, order, "email")
        p.login("web")
        usage(p, rng, "web", p.t_s + days_s(rng, 14, 60), rng.uniform(0.3, 0.7))
    return p


def _phone_sales(rng: random.Random, c: Customer, convert: bool) -> Plan:
    """E-mail and telephone only: a rep calls back, demos, quotes by e-mail, takes the order on the phone."""
    p = Plan(device=None)
    _nurture(p, rng, rng.randint(1, 3))
    p.add("email_click", "email", c.persona.next_visit_s(rng), rng.choice(CAMPAIGNS["b2b_email"]))
    product = _research(p, rng, c, social=False, email=False, web=False, detours=["call_inquiry"],
                        demo_channel="call_center")
    order = _deal(p, rng, c, product, "email", "call_center", convert)
    if order:
        _onboard(p, rng, "call_center", None)
        if rng.random() < 0.3:
            ticket(p, rng, c, "call_center", days_s(rng, 2, 20), order["order_id"], "email")
        elif rng.random() < 0.4:
            purchase_survey(p, rng, order, "email")
    return p


def cyclical(rng: random.Random, c: Customer, convert: bool, horizon_s: float) -> Plan:
    if horizon_s > 80 * DAY and rng.random() < 0.6:
        return _saas(rng, c, horizon_s)
    return _reorders(rng, c, horizon_s)


def _saas(rng: random.Random, c: Customer, horizon_s: float) -> Plan:
    """Trial to paid: a monthly software subscription with renewal notices by e-mail."""
    p = Plan(device="web")
    _nurture(p, rng, rng.randint(1, 2))
    _research(p, rng, c, social=False, email=True, web=True,
              detours=rng.sample(("brochure_download", "webinar_attend"), rng.randint(0, 1)), demo_channel="web")
    subscribe(p, rng, c, "web", "email", "email", horizon_s, B2B_PLANS, cancel_rate=0.06, silent_churn_rate=0.04)
    return p


def _reorders(rng: random.Random, c: Customer, horizon_s: float) -> Plan:
    """Orders, receives, and orders again every few weeks from a quote."""
    p = Plan(device="web")
    _nurture(p, rng, 1)
    product = _research(p, rng, c, social=False, email=True, web=True, detours=[], demo_channel="web")
    order = _deal(p, rng, c, product, "web", "web", convert=True)
    deliver(p, rng, order, "email")
    for round_ in range(rng.randint(1, 3)):
        gap_s = days_s(rng, 14, 40)
        if round_ > 0 and p.t_s + gap_s > horizon_s:
            break
        p.add("quote_request", rng.choice(("web", "email")), gap_s, {"product_id": product[0]},
              {"quote_value": f"{product[1]:.2f}"})
        order = charge(c, product[0], product[1] * rng.uniform(0.3, 1.0))
        p.add("purchase", "web", days_s(rng, 1, 10), order, {"contract": "reorder"})
        deliver(p, rng, order, "email")
    return p


def complex_(rng: random.Random, c: Customer, convert: bool, horizon_s: float) -> Plan:
    """A buying committee: ads, content, calls and chats; a new decision maker sends the team back to research."""
    p = Plan(device="web")
    _nurture(p, rng, rng.randint(1, 3))
    detours = rng.sample(("brochure_download", "webinar_attend", "call_inquiry", "chat_inquiry"), rng.randint(1, 3))
    product = _research(p, rng, c, social=True, email=True, web=True, detours=detours,
                        demo_channel=rng.choice(("web", "call_center")))
    p.add("quote_request", "email", c.persona.next_visit_s(rng), {"product_id": product[0]}, {"quote_value": f"{product[1]:.2f}"})
    if rng.random() < 0.5:
        p.add(rng.choice(("webinar_attend", "product_view", "brochure_download")), "web", c.persona.next_visit_s(rng),
              {"product_id": product[0]})
        p.returned = True
    order = _deal(p, rng, c, product, rng.choice(("email", "call_center")), rng.choice(("web", "call_center")), convert)
    if order:
        _onboard(p, rng, rng.choice(("call_center", "email")), "web")
        if rng.random() < 0.35:
            ticket(p, rng, c, rng.choice(("call_center", "chat")), days_s(rng, 1, 14), order["order_id"], "email")
    ensure_three_channels(p, rng)
    return p
