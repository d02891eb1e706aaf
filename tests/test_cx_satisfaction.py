"""marts.survey_responses and marts.satisfaction: scores, margins of error, and what a response rates."""

from __future__ import annotations

import pytest

from tests.cx_inputs import Inputs, build_marts, one, rows

MARTS = ("marts.survey_responses", "marts.satisfaction")


def build(settings, inputs, **values):
    """Only the marts this file tests (and what they read), for speed."""
    return build_marts(settings, inputs, only=MARTS, **values)


def _scores() -> Inputs:
    inputs = Inputs()
    inputs.touch("s1", "email", "survey_response", d=1, nps=10, csat=5, ces=2)
    inputs.touch("s2", "email", "survey_response", d=2, nps=9, csat=4, ces=4)
    inputs.touch("s3", "email", "survey_response", d=3, nps=7, csat=4, ces=6)
    inputs.touch("s4", "sms", "survey_response", d=4, nps=3, csat=1)
    return inputs


def test_nps_is_share_of_promoters_minus_share_of_detractors(settings):
    """NPS in points: 2 promoters (10, 9), 1 passive (7), 1 detractor (3) of 4 answers is 50% - 25% = +25."""
    con = build(settings, _scores())
    row = one(con, "select * from marts.satisfaction where dimension = 'all'")
    assert (row["n_promoters"], row["n_passives"], row["n_detractors"]) == (2, 1, 1)
    assert row["nps"] == pytest.approx(25.0)


def test_nps_margin_of_error(settings):
    """100 * 1.96 * sqrt((0.5 + 0.25 - 0.25^2) / 4) = 196 * sqrt(0.171875) = 81.26 points."""
    con = build(settings, _scores())
    row = one(con, "select * from marts.satisfaction where dimension = 'all'")
    assert row["nps_margin_of_error"] == pytest.approx(81.257, abs=0.001)


def test_csat_is_share_of_four_and_five_with_wald_margin(settings):
    """CSAT 5, 4, 4, 1: 3 of 4 satisfied = 0.75, margin 1.96 * sqrt(0.75 * 0.25 / 4) = 0.4244."""
    con = build(settings, _scores())
    row = one(con, "select * from marts.satisfaction where dimension = 'all'")
    assert (row["n_csat_responses"], row["n_csat_satisfied"], row["n_csat_low"]) == (4, 3, 1)
    assert row["csat"] == pytest.approx(0.75)
    assert row["csat_margin_of_error"] == pytest.approx(0.42435, abs=1e-5)


def test_ces_is_mean_effort_with_normal_margin(settings):
    """CES 2, 4, 6 (the fourth answer skipped it): mean 4, sd 2, margin 1.96 * 2 / sqrt(3) = 2.2632."""
    con = build(settings, _scores())
    row = one(con, "select * from marts.satisfaction where dimension = 'all'")
    assert (row["n_ces_responses"], row["n_ces_high_effort"]) == (3, 1)
    assert row["ces"] == pytest.approx(4.0)
    assert row["ces_margin_of_error"] == pytest.approx(2.26321, abs=1e-5)


def test_response_rates_the_ticket_it_references(settings):
    """A post-support survey rates the ticket's opening touchpoint, on the ticket's channel."""
    inputs = Inputs()
    inputs.journey("j1", "p1", "web purchase revenue=40 order=o1", "chat ticket_opened ticket=t1 order=o1 h=5",
                   "chat chat_reply ticket=t1 order=o1 h=6", "chat ticket_resolved ticket=t1 order=o1 h=9",
                   "email survey_response ticket=t1 csat=2 h=10")
    con = build(settings, inputs)
    row = one(con, "select * from marts.survey_responses")
    assert (row["attribution_method"], row["rated_event_id"]) == ("ticket", "j1-2")
    assert (row["rated_channel"], row["rated_event_type"], row["journey_type"]) == ("chat", "ticket_opened", "linear")


def test_response_rates_the_conversion_of_the_order_it_references(settings):
    """A post-purchase survey rates the order's purchase, not the ticket touchpoints carrying the same order_id."""
    inputs = Inputs()
    inputs.journey("j1", "p1", "store store_visit", "store purchase revenue=40 order=o1",
                   "call_center ticket_opened ticket=t1 order=o1 h=3", "email survey_response order=o1 nps=9 h=30")
    con = build(settings, inputs)
    row = one(con, "select * from marts.survey_responses")
    assert (row["attribution_method"], row["rated_event_type"], row["rated_channel"]) == ("order", "purchase", "store")
    assert row["seconds_since_rated"] == 29 * 3600


def test_unreferenced_response_rates_the_latest_touchpoint_of_the_last_seven_days(settings):
    """No ticket or order: the person's latest non-survey touchpoint before the answer, within 7 days."""
    inputs = Inputs()
    inputs.touch("a", "store", "store_visit", d=0)
    inputs.touch("b", "web", "page_view", d=3)
    inputs.touch("s0", "email", "survey_response", d=4, nps=8)
    inputs.touch("s1", "email", "survey_response", d=5, nps=10)
    con = build(settings, inputs)
    row = one(con, "select * from marts.survey_responses where response_event_id = 's1'")
    assert (row["attribution_method"], row["rated_event_id"], row["rated_channel"]) == ("recent_touchpoint", "b", "web")


def test_survey_with_no_preceding_touchpoint_counts_overall_but_rates_nothing(settings):
    """An answer with nothing in the 7 days before it: rated touchpoint NULL, counted in 'all' and as '(unattributed)'."""
    inputs = Inputs()
    inputs.touch("old", "web", "page_view", d=0, person_id="p1")
    inputs.touch("s1", "email", "survey_response", d=8, person_id="p1", nps=2)
    inputs.touch("s2", "sms", "survey_response", d=9, person_id="p2", nps=10)
    con = build(settings, inputs)
    response = one(con, "select * from marts.survey_responses where response_event_id = 's1'")
    assert (response["attribution_method"], response["rated_event_id"]) == ("none", None)
    overall = one(con, "select * from marts.satisfaction where dimension = 'all'")
    assert (overall["n_responses"], overall["nps"]) == (2, 0.0)
    unattributed = one(con, "select * from marts.satisfaction "
                            "where dimension = 'channel' and dimension_value = '(unattributed)'")
    assert unattributed["n_responses"] == 2


def test_every_dimension_adds_up_to_all_responses(settings):
    """Each slice of a dimension is a partition: its counts sum to the 'all' row."""
    inputs = _scores()
    inputs.journey("j1", "p2", "web purchase revenue=40 order=o1", "email survey_response order=o1 nps=9 csat=5 h=30",
                   journey_type="branching", persona="b2b")
    con = build(settings, inputs)
    totals = rows(con, "select dimension, sum(n_responses) as n, sum(n_nps_responses) as n_nps "
                       "from marts.satisfaction group by dimension")
    assert {r["dimension"] for r in totals} == {"all", "channel", "event_type", "stage", "issue_category",
                                                 "journey_type", "persona", "month"}
    assert {(r["n"], r["n_nps"]) for r in totals} == {(5, 5)}


def test_counts_are_zero_not_null_in_a_slice_without_such_answers(settings):
    """January has one NPS-only answer (10), February one CSAT-only answer (2): every count of a score
    the slice has no answer for is 0, and only the scores themselves are undefined (NULL)."""
    inputs = Inputs()
    inputs.touch("s1", "email", "survey_response", d=1, nps=10)
    inputs.touch("s2", "email", "survey_response", d=40, csat=2)
    con = build(settings, inputs)
    counts = ("n_responses, n_nps_responses, n_promoters, n_passives, n_detractors, n_csat_responses, "
              "n_csat_satisfied, n_csat_low, n_ces_responses, n_ces_high_effort")
    january = one(con, f"select {counts}, csat, ces from marts.satisfaction "
                       "where dimension = 'month' and dimension_value = '2025-01'")
    assert january == {"n_responses": 1, "n_nps_responses": 1, "n_promoters": 1, "n_passives": 0, "n_detractors": 0,
                       "n_csat_responses": 0, "n_csat_satisfied": 0, "n_csat_low": 0, "n_ces_responses": 0,
                       "n_ces_high_effort": 0, "csat": None, "ces": None}
    february = one(con, f"select {counts}, nps, nps_margin_of_error from marts.satisfaction "
                        "where dimension = 'month' and dimension_value = '2025-02'")
    assert february == {"n_responses": 1, "n_nps_responses": 0, "n_promoters": 0, "n_passives": 0, "n_detractors": 0,
                        "n_csat_responses": 1, "n_csat_satisfied": 0, "n_csat_low": 1, "n_ces_responses": 0,
                        "n_ces_high_effort": 0, "nps": None, "nps_margin_of_error": None}
