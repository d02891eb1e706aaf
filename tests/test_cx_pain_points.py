"""marts.pain_points: where journeys drop off, where they wait, and which touchpoints precede bad scores or exits."""

from __future__ import annotations

import pytest

from tests.cx_inputs import Inputs, build_marts, rows

MARTS = ("marts.survey_responses", "marts.path_steps", "marts.pain_points")


def build(settings, inputs, **values):
    """Only the marts this file tests (and what they read), for speed."""
    return build_marts(settings, inputs, only=MARTS, **values)


def _funnel() -> Inputs:
    """Four journeys that are over: two leave at the cart, one at the product page, one buys."""
    inputs = Inputs()
    inputs.journey("a", "pa", "web page_view", "web product_view", "web add_to_cart")
    inputs.journey("b", "pb", "web page_view", "web product_view", "web add_to_cart")
    inputs.journey("c", "pc", "web page_view", "web product_view")
    inputs.journey("d", "pd", "web page_view", "web product_view", "web add_to_cart", "web purchase h=2 d=2")
    return inputs


def _pains(con, pain_type: str) -> dict:
    return {(r["from_step"], r["to_step"], r["channel"]): r
            for r in rows(con, "select * from marts.pain_points where pain_type = ?", pain_type)}


def test_drop_off_steps_ranked_by_journeys_ending_there(settings):
    """add_to_cart ends 2 of the 3 journeys reaching it (2/3 of drop-offs, rank 1); product_view ends 1 of 4."""
    con = build(settings, _funnel())
    steps = _pains(con, "drop_off_step")
    cart, product = steps[("add_to_cart", None, None)], steps[("product_view", None, None)]
    assert (cart["rank"], cart["n"], cart["base"], cart["share"]) == (1, 2, 3, 2 / 3)
    assert cart["rate"] == pytest.approx(2 / 3)
    assert (product["rank"], product["n"], product["base"], product["rate"]) == (2, 1, 4, 0.25)
    assert ("purchase", None, None) not in steps


def test_drop_off_transition_is_the_journeys_last_move(settings):
    """product_view > add_to_cart was the last move of 2 dropped journeys, of the 3 that made it."""
    con = build(settings, _funnel())
    last = _pains(con, "drop_off_transition")[("product_view", "add_to_cart", None)]
    assert (last["rank"], last["n"], last["base"]) == (1, 2, 3)


def test_ongoing_journeys_are_not_drop_offs(settings):
    """A journey whose last touchpoint is within journey_gap_days of as_of may still go on: not a drop-off."""
    inputs = _funnel()
    inputs.journey("e", "pe", "web page_view", "web product_view", "web add_to_cart", start_h=145 * 24)
    con = build(settings, inputs)
    assert _pains(con, "drop_off_step")[("add_to_cart", None, None)]["n"] == 2


def test_slow_transitions_ranked_by_median_time_at_the_step(settings):
    """add_to_cart > purchase took 2 days, the other moves 1 hour: it ranks first when seen often enough."""
    con = build(settings, _funnel(), pain_points_min_n=1)
    slow = _pains(con, "slow_transition")
    assert slow[("add_to_cart", "purchase", None)]["rank"] == 1
    assert slow[("add_to_cart", "purchase", None)]["median_seconds"] == 2 * 86400


def test_rare_slow_transitions_are_not_ranked(settings):
    """Below pain_points_min_n transitions a median is anecdote: rank NULL."""
    con = build(settings, _funnel(), pain_points_min_n=2)
    slow = _pains(con, "slow_transition")
    assert slow[("add_to_cart", "purchase", None)]["rank"] is None
    assert slow[("page_view", "product_view", None)]["rank"] == 1


def test_touchpoint_most_often_rated_low_csat(settings):
    """Chat tickets got 2 CSAT answers of 1-2 out of 3, the call center 1 of 1: chat ranks first by count."""
    inputs = Inputs()
    for n, (channel, csat) in enumerate((("chat", 1), ("chat", 2), ("chat", 5), ("call_center", 2))):
        inputs.touch(f"t{n}", channel, "ticket_opened", d=n, person_id=f"p{n}", ticket=f"t{n}")
        inputs.touch(f"s{n}", "email", "survey_response", d=n + 1, person_id=f"p{n}", ticket=f"t{n}", csat=csat)
    con = build(settings, inputs)
    low = _pains(con, "low_csat")
    chat, call = low[("ticket_opened", None, "chat")], low[("ticket_opened", None, "call_center")]
    assert (chat["rank"], chat["n"], chat["base"], chat["share"]) == (1, 2, 3, 2 / 3)
    assert (call["rank"], call["n"], call["rate"]) == (2, 1, 1.0)


def test_detractors_and_high_effort_are_pain_types_too(settings):
    """An NPS of 4 and a CES of 6 on a delivery make it a detractor and a high-effort touchpoint."""
    inputs = Inputs()
    inputs.journey("j1", "p1", "web purchase order=o1", "email delivery order=o1",
                   "sms survey_response nps=4 ces=6 h=3")
    con = build(settings, inputs)
    assert _pains(con, "detractor")[("delivery", None, "email")]["n"] == 1
    assert _pains(con, "high_effort")[("delivery", None, "email")]["n"] == 1


def test_touchpoint_before_a_churn_exit(settings):
    """Two unsubscribes right after a call-center resolution, one cancellation after product use."""
    inputs = Inputs()
    for person in ("p1", "p2"):
        inputs.journey(f"j{person}", person, "web purchase", "call_center ticket_resolved", "email unsubscribe")
    inputs.journey("j3", "p3", "web subscription_start", "mobile_app product_usage", "mobile_app product_usage",
                   "web subscription_cancelled")
    con = build(settings, inputs)
    exits = _pains(con, "churn_exit")
    after_support = exits[("ticket_resolved", "unsubscribe", "call_center")]
    assert (after_support["rank"], after_support["n"], after_support["base"], after_support["share"]) == (1, 2, 2, 2 / 3)
    after_usage = exits[("product_usage", "subscription_cancelled", "mobile_app")]
    assert (after_usage["rank"], after_usage["rate"]) == (2, 0.5)
