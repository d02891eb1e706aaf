"""marts.journey_map, marts.stage_value_at_stake and marts.emotion_curve: the journey map measured
per persona, on hand-made journeys of the five-stage model whose figures are worked out below.

Stages: awareness 1, consideration 2, decision 3, retention 4, advocacy 5. Journeys start at
T0 and are over by as_of (150 days later, journey_gap_days 90) unless placed near it.
"""

from __future__ import annotations

import math

import pytest

from tests.cx_inputs import Inputs, build_marts, rows, schema

MARTS = ("intermediate.int_stages", "marts.stages", "marts.survey_responses", "marts.support_tickets",
         "marts.journey_map", "marts.stage_value_at_stake", "marts.emotion_curve")
HOUR = 3600.0


def build(settings, inputs, **values):
    return build_marts(settings, inputs, only=MARTS, **values)


def _map(con, persona: str) -> dict:
    found = rows(con, "select * from marts.journey_map where persona = ?", persona)
    by_touchpoint = {(r["stage"], r["channel"], r["event_type"]): r for r in found}
    assert len(by_touchpoint) == len(found), "two rows for one touchpoint"
    return by_touchpoint


def _funnel() -> Inputs:
    """Four b2c journeys and one b2b, all over:
        j1 b2c  web page_view 0h, web product_view 1h, web add_to_cart 3h           dropped at the cart
        j2 b2c  web page_view 0h, web product_view 2h                               dropped at the product
        j3 b2c  web page_view 0h, web product_view 1h, web add_to_cart 2h, purchase 4h   converted
        j4 b2c  email email_open 0h, web product_view 5h                            dropped at the product
        j5 b2b  email email_open 0h, web product_view 2h, web quote_request 3h      dropped at the quote
    """
    inputs = Inputs(five_stage=True)
    inputs.journey("j1", "p1", "web page_view", "web product_view h=1", "web add_to_cart h=3")
    inputs.journey("j2", "p2", "web page_view", "web product_view h=2")
    inputs.journey("j3", "p3", "web page_view", "web product_view h=1", "web add_to_cart h=2", "web purchase h=4")
    inputs.journey("j4", "p4", "email email_open", "web product_view h=5")
    inputs.journey("j5", "p5", "email email_open", "web product_view h=2", "web quote_request h=3", persona="b2b")
    return inputs


@pytest.fixture
def funnel_map(settings):
    return build(settings, _funnel())


def test_reach_and_share_of_the_stage(funnel_map):
    """b2c: 4 journeys reach awareness, 3 of them by a web page view, 1 by an opened e-mail; all 4
    consider through product_view; 2 reach decision, both at the cart, 1 buys."""
    b2c = _map(funnel_map, "b2c")
    assert set(b2c) == {("awareness", "web", "page_view"), ("awareness", "email", "email_open"),
                        ("consideration", "web", "product_view"), ("decision", "web", "add_to_cart"),
                        ("decision", "web", "purchase")}
    page, opened = b2c[("awareness", "web", "page_view")], b2c[("awareness", "email", "email_open")]
    assert (page["n_journeys"], page["n_stage_journeys"], page["share_of_stage_journeys"]) == (3, 4, 0.75)
    assert (opened["n_journeys"], opened["share_of_stage_journeys"]) == (1, 0.25)
    purchase = b2c[("decision", "web", "purchase")]
    assert (purchase["n_journeys"], purchase["n_stage_journeys"], purchase["share_of_stage_journeys"]) == (1, 2, 0.5)
    assert purchase["stage_kind"] == "main"


def test_personas_and_all(funnel_map):
    """b2b has j5 alone; 'all' adds it to b2c: 2 opened e-mails of 5 awareness journeys."""
    b2b, everyone = _map(funnel_map, "b2b"), _map(funnel_map, "all")
    assert set(b2b) == {("awareness", "email", "email_open"), ("consideration", "web", "product_view"),
                        ("decision", "web", "quote_request")}
    opened = everyone[("awareness", "email", "email_open")]
    assert (opened["n_journeys"], opened["n_stage_journeys"], opened["share_of_stage_journeys"]) == (2, 5, 0.4)


def test_dwell_until_the_next_touchpoint(funnel_map):
    """page_view waits 1 h, 2 h, 1 h: median 1 h, p90 at rank 1 + 0.9 * 2 = 1 h * 0.2 + 2 h * 0.8.
    product_view has a next touchpoint in j1 (2 h) and j3 (1 h) only: median 1.5 h, p90 1.9 h."""
    b2c = _map(funnel_map, "b2c")
    page, product = b2c[("awareness", "web", "page_view")], b2c[("consideration", "web", "product_view")]
    assert page["median_dwell_s"] == HOUR
    assert page["p90_dwell_s"] == pytest.approx(0.2 * HOUR + 0.8 * 2 * HOUR)
    assert product["median_dwell_s"] == pytest.approx(1.5 * HOUR)
    assert product["p90_dwell_s"] == pytest.approx(1.9 * HOUR)
    assert b2c[("decision", "web", "purchase")]["median_dwell_s"] is None


def test_conversion_to_a_later_stage(funnel_map):
    """From product_view, j1 and j3 went on to decision, j2 and j4 did not: 2 of 4. Nobody went on
    from decision to retention: 0 of 2."""
    b2c = _map(funnel_map, "b2c")
    product = b2c[("consideration", "web", "product_view")]
    assert (product["n_went_on"], product["next_stage_rate"]) == (2, 0.5)
    assert b2c[("awareness", "web", "page_view")]["next_stage_rate"] == 1.0
    assert b2c[("decision", "web", "add_to_cart")]["next_stage_rate"] == 0.0


def test_drop_offs_counted_once_where_they_stopped(funnel_map):
    """j2 and j4 stopped at product_view (2 of its 4 journeys), j1 at the cart (1 of 2); the converted
    j3 is no drop-off, and the touchpoints j1 passed through before the cart count none."""
    b2c = _map(funnel_map, "b2c")
    product, cart = b2c[("consideration", "web", "product_view")], b2c[("decision", "web", "add_to_cart")]
    assert (product["n_dropped"], product["drop_off_rate"], product["drop_off_rank"]) == (2, 0.5, 1)
    assert (cart["n_dropped"], cart["drop_off_rate"], cart["drop_off_rank"]) == (1, 0.5, 2)
    assert b2c[("awareness", "web", "page_view")]["n_dropped"] == 0
    assert b2c[("awareness", "web", "page_view")]["drop_off_rank"] is None
    assert sum(r["n_dropped"] for r in b2c.values()) == 3
    assert "top_drop_off" in product["pain_flags"] and product["is_top_drop_off"]
    assert not b2c[("decision", "web", "purchase")]["is_top_drop_off"]


def test_long_dwell_needs_enough_dwells(settings):
    """With pain_points_min_n = 3 only page_view (3 dwells) ranks: the long_dwell flag goes to it alone."""
    con = build(settings, _funnel(), pain_points_min_n=3)
    b2c = _map(con, "b2c")
    assert b2c[("awareness", "web", "page_view")]["dwell_rank"] == 1
    assert b2c[("awareness", "web", "page_view")]["is_long_dwell"]
    assert [k for k, r in b2c.items() if r["is_long_dwell"]] == [("awareness", "web", "page_view")]


def test_going_on_is_later_in_the_journey_and_dwell_ends_at_any_touchpoint(settings):
    """ja: add_to_cart 0h, product_view 1h, email bounce 4h (unmapped): it reached decision before the
    product view, so it did not go on from it, and the view waited 3 h for the bounce.
    jb: product_view 0h, add_to_cart 2h, product_view 5h: it went on after its first view; the views
    wait 2 h and (the last touchpoint) nothing. product_view: 2 journeys, 3 touchpoints, 1 went on,
    dwells 3 h and 2 h. jc reaches advocacy, the last stage: no next stage to go on to."""
    inputs = Inputs(five_stage=True)
    inputs.journey("ja", "pa", "web add_to_cart", "web product_view h=1", "email bounce h=4")
    inputs.journey("jb", "pb", "web product_view", "web add_to_cart h=2", "web product_view h=5")
    inputs.journey("jc", "pc", "web purchase", "web review_written h=2")
    b2c = _map(build(settings, inputs), "b2c")
    product = b2c[("consideration", "web", "product_view")]
    assert (product["n_journeys"], product["n_touchpoints"], product["n_went_on"]) == (2, 3, 1)
    assert product["next_stage_rate"] == 0.5
    assert product["median_dwell_s"] == pytest.approx(2.5 * HOUR)
    assert ("(unmapped)", "email", "bounce") not in b2c and all(k[2] != "bounce" for k in b2c)
    review = b2c[("advocacy", "web", "review_written")]
    assert (review["n_journeys"], review["n_went_on"], review["next_stage_rate"]) == (1, None, None)


def _valued() -> Inputs:
    """Who stopped where, and what they are worth (b2c customers p1 100, p3 50, p7 20: mean 170 / 3):
        j1 p1 b2c  page_view, add_to_cart                dropped; p1 predicted 100        -> 100 at the cart
        j2 p2 b2c  page_view, product_view               dropped; p2 never bought: the
                                                         b2c mean                         -> 170 / 3 at product_view
        j3 p3 b2c  page_view, product_view               dropped; p3 predicted 50, but came back in
        j6 p3 b2c  page_view 100 days later (ongoing)    j6: j3 is not p3's latest journey -> 0
        j5 p5 b2b  product_view, quote_request           dropped; p5 has no prediction, 300 to date -> 300
        j7 p7 b2c  page_view, product_view, delivery,    dropped after a delivery (unmapped last touch:
                   email bounce                          it stopped at delivery); p7 predicted 20 -> 20
    """
    inputs = Inputs(five_stage=True)
    inputs.journey("j1", "p1", "web page_view", "web add_to_cart")
    inputs.journey("j2", "p2", "web page_view", "web product_view")
    inputs.journey("j3", "p3", "web page_view", "web product_view")
    inputs.journey("j6", "p3", "web page_view", start_h=100 * 24)
    inputs.journey("j5", "p5", "web product_view", "web quote_request", persona="b2b")
    inputs.journey("j7", "p7", "web page_view", "web product_view", "email delivery", "email bounce")
    inputs.customer("p1", 0.9, 100.0)
    inputs.customer("p3", 0.8, 50.0)
    inputs.customer("p5", None, None, revenue_to_date=300.0, persona="b2b")
    inputs.customer("p7", 0.5, 20.0)
    return inputs


B2C_MEAN = 170 / 3


def test_value_at_stake_where_customers_and_prospects_stopped(settings):
    con = build(settings, _valued())
    b2c, b2b = _map(con, "b2c"), _map(con, "b2b")
    cart, product = b2c[("decision", "web", "add_to_cart")], b2c[("consideration", "web", "product_view")]
    assert (cart["n_dropped"], cart["n_customers_at_stake"], cart["value_at_stake"]) == (1, 1, 100.0)
    assert (product["n_dropped"], product["n_customers_at_stake"], product["n_prospects_at_stake"]) == (2, 0, 1)
    assert product["value_at_stake"] == pytest.approx(B2C_MEAN)
    delivery = b2c[("retention", "email", "delivery")]
    assert (delivery["n_dropped"], delivery["value_at_stake"]) == (1, 20.0)
    assert b2b[("decision", "web", "quote_request")]["value_at_stake"] == 300.0
    assert sum(r["value_at_stake"] for r in _map(con, "all").values()) == pytest.approx(420.0 + B2C_MEAN)
    assert {r["currency"] for r in b2c.values()} == {"EUR"}


def test_stage_value_at_stake_ranks_where_to_invest(settings):
    """b2c: decision 100 (rank 1), consideration 170 / 3 with 2 drops, retention 20, awareness nothing;
    each persona's total is its map's."""
    con = build(settings, _valued())
    stages = {(r["persona"], r["stage"]): r for r in rows(con, "select * from marts.stage_value_at_stake")}
    decision, retention = stages[("b2c", "decision")], stages[("b2c", "retention")]
    consideration, awareness = stages[("b2c", "consideration")], stages[("b2c", "awareness")]
    assert (decision["rank"], decision["value_at_stake"], decision["n_dropped"]) == (1, 100.0, 1)
    assert decision["share_of_value_at_stake"] == pytest.approx(100 / (120 + B2C_MEAN))
    assert (consideration["rank"], consideration["n_dropped"]) == (2, 2)
    assert consideration["value_at_stake"] == pytest.approx(B2C_MEAN)
    assert (retention["rank"], retention["value_at_stake"]) == (3, 20.0)
    # awareness: j1, j2, j3, j6, j7 (5 journeys), none stopped there
    assert (awareness["rank"], awareness["n_dropped"], awareness["n_stage_journeys"]) == (4, 0, 5)
    assert consideration["drop_off_rate"] == pytest.approx(2 / 3)  # j2, j3 of j2, j3, j7
    for persona in ("b2c", "b2b", "all"):
        by_map = rows(con, "select sum(value_at_stake) as v from marts.journey_map where persona = ?", persona)[0]["v"]
        by_stage = rows(con, "select sum(value_at_stake) as v from marts.stage_value_at_stake where persona = ?",
                        persona)[0]["v"]
        assert by_map == pytest.approx(by_stage, rel=1e-12)
    assert stages[("all", "decision")]["value_at_stake"] == 400.0


def _surveyed() -> Inputs:
    """Three b2c buyers rate their purchase (through the order) CSAT 5, 5, 2 and NPS 10, 9, 6; two
    chat tickets of p4 (the second a repeat contact 3 days after the first) are rated CSAT 1, 2,
    NPS 3, 5, CES 2, 4; a call-center ticket of p5 is not rated and not repeated."""
    inputs = Inputs(five_stage=True)
    for n, (csat, nps) in enumerate(((5, 10), (5, 9), (2, 6)), start=1):
        inputs.journey(f"b{n}", f"p{n}", f"web purchase order=o{n}",
                       f"email survey_response order=o{n} csat={csat} nps={nps} h=5")
    inputs.journey("c4", "p4", "chat ticket_opened ticket=t1", "chat ticket_resolved ticket=t1 h=2",
                   "email survey_response ticket=t1 csat=1 nps=3 ces=2 h=3",
                   "chat ticket_opened ticket=t2 d=3", "chat ticket_resolved ticket=t2 d=3 h=2",
                   "email survey_response ticket=t2 csat=2 nps=5 ces=4 d=3 h=3")
    inputs.journey("c5", "p5", "call_center ticket_opened ticket=t3", "call_center ticket_resolved ticket=t3 h=1")
    return inputs


def test_emotion_at_each_touchpoint_with_margins(settings):
    """purchase: CSAT 2/3 (Wald margin 1.96 sqrt(2/9 / 3)), NPS (2 - 1) / 3 promoters minus detractors;
    chat ticket_opened: CSAT 0, NPS -100, CES mean 3 with sd sqrt(2): margin 1.96 sqrt(2) / sqrt(2)."""
    con = build(settings, _surveyed(), pain_points_min_n=2, repeat_contact_window_days=7)
    b2c = _map(con, "b2c")
    purchase, chat = b2c[("decision", "web", "purchase")], b2c[("retention", "chat", "ticket_opened")]
    assert purchase["n_csat_responses"] == 3
    assert purchase["csat"] == pytest.approx(2 / 3)
    assert purchase["csat_margin_of_error"] == pytest.approx(1.96 * math.sqrt((2 / 3) * (1 / 3) / 3))
    p, d = 2 / 3, 1 / 3  # promoters 10, 9; detractor 6
    assert purchase["nps"] == pytest.approx(100 * (p - d))
    assert purchase["nps_margin_of_error"] == pytest.approx(100 * 1.96 * math.sqrt((p + d - (p - d) ** 2) / 3))
    assert (chat["n_csat_responses"], chat["csat"], chat["nps"]) == (2, 0.0, -100.0)
    assert (chat["ces"], chat["ces_margin_of_error"]) == (3.0, pytest.approx(1.96))
    assert b2c[("retention", "call_center", "ticket_opened")]["n_csat_responses"] == 0


def test_low_satisfaction_and_repeat_contact_flags(settings):
    """The b2c rated touchpoints together: CSAT 2 of 5, NPS (2 - 3) / 5 = -20. The chat ticket's CSAT
    0 + 0 margin is below 0.4: low satisfaction; the purchase's 2/3 is not. Of 3 tickets 1 is a repeat
    (1/3); the chat opening's 1 of 2 is above it, the call center's 0 of 1 is not."""
    con = build(settings, _surveyed(), pain_points_min_n=2, repeat_contact_window_days=7)
    b2c = _map(con, "b2c")
    purchase, chat = b2c[("decision", "web", "purchase")], b2c[("retention", "chat", "ticket_opened")]
    call = b2c[("retention", "call_center", "ticket_opened")]
    assert chat["is_low_satisfaction"] and not purchase["is_low_satisfaction"]
    assert (chat["n_tickets"], chat["n_repeat_contacts"], chat["repeat_contact_rate"]) == (2, 1, 0.5)
    assert chat["is_repeat_contact"] and not call["is_repeat_contact"]
    assert (call["n_tickets"], call["repeat_contact_rate"]) == (1, 0.0)
    assert "low_satisfaction" in chat["pain_flags"] and "repeat_contact" in chat["pain_flags"]


def test_emotion_curve_by_stage(settings):
    """decision holds the purchases' answers, retention the chat tickets'; the other stages are
    on the curve with n = 0."""
    con = build(settings, _surveyed(), pain_points_min_n=2)
    curve = {r["stage"]: r for r in rows(con, "select * from marts.emotion_curve where persona = 'b2c' order by stage_rank")}
    assert list(curve) == ["awareness", "consideration", "decision", "retention", "advocacy"]
    assert (curve["decision"]["n_responses"], curve["decision"]["csat"]) == (3, pytest.approx(2 / 3))
    assert (curve["retention"]["n_csat_responses"], curve["retention"]["nps"]) == (2, -100.0)
    assert curve["retention"]["ces_margin_of_error"] == pytest.approx(1.96)
    assert (curve["awareness"]["n_responses"], curve["awareness"]["csat"]) == (0, None)
    everyone = {r["stage"]: r for r in rows(con, "select * from marts.emotion_curve where persona = 'all'")}
    assert everyone["decision"]["n_responses"] == 3


def test_one_ces_answer_has_no_margin_to_show():
    """A stage with one CES answer has a score but no standard deviation: the map says n=1, no ± NaN."""
    import pandas as pd

    from journeys.journey_map_view import _emotion_text

    emotion = pd.Series({"n_responses": 1, "n_csat_responses": 0, "csat": None, "csat_margin_of_error": None,
                         "n_nps_responses": 0, "nps": None, "nps_margin_of_error": None,
                         "n_ces_responses": 1, "ces": 4.0, "ces_margin_of_error": float("nan")})
    assert _emotion_text(emotion) == "CES 4.00 (n=1)"


def test_one_ces_answer_shows_no_margin_in_the_emotion_curves_hover(tmp_path):
    """The chart's hover for that stage reads 'CES 4.00 (n=1)'-like text without '± nan'; two answers
    with a margin of 0.5 show '± 0.50'."""
    import duckdb

    from journeys.report_journey_map import emotion_curve

    con = duckdb.connect(str(tmp_path / "curve.duckdb"))
    con.execute("create schema marts")
    scores = {"nps", "nps_margin_of_error", "csat", "csat_margin_of_error", "ces", "ces_margin_of_error"}
    columns = ", ".join(f"{name} {'double' if name in scores else kind}"
                        for name, kind in schema("marts.emotion_curve").items())
    con.execute(f"create table marts.emotion_curve ({columns})")
    con.execute("""insert into marts.emotion_curve (persona, stage, stage_rank, n_responses, n_ces_responses, ces,
                                                    ces_margin_of_error, n_csat_responses, n_nps_responses)
                   values ('all', 'decision', 1, 1, 1, 4.0, 'nan'::double, 0, 0),
                          ('all', 'retention', 2, 2, 2, 3.0, 0.5, 0, 0)""")
    ces = [trace for trace in emotion_curve(con).data if trace.xaxis == "x3"][0]
    assert list(ces.text) == ["", " ± 0.50"]
    assert "nan" not in ces.hovertemplate.lower()


def test_an_empty_map_is_a_note_in_the_report_not_a_crash(tmp_path):
    """The marts exist but hold no row (nothing reached a mapped stage): the section says so."""
    import duckdb

    from journeys.report_figures import EmptySection
    from journeys.report_journey_map import journey_map_pages

    con = duckdb.connect(str(tmp_path / "empty.duckdb"))
    con.execute("create schema marts")
    for table in ("marts.journey_map", "marts.stage_value_at_stake", "marts.emotion_curve"):
        columns = ", ".join(f"{name} {kind}" for name, kind in schema(table).items())  # the documented columns
        con.execute(f"create table {table} ({columns})")
    with pytest.raises(EmptySection, match="no journey map for persona 'all'"):
        journey_map_pages(con)
