"""marts.stage_funnel: journeys reaching each stage of the five-stage model, conversion to the next
stage, drop-off and time between stages, as of the analysis date, overall and per breakdown.

Stages: awareness 1, consideration 2, decision 3, retention 4, advocacy 5. As of 2025-01-31:
  j1 (web, b2c)    page_view 10:00, product_view 10:10, add_to_cart 10:30, purchase 10:40   -> highest 3
  j2 (email, b2b)  email_open 09:00, review_read 11:00 (a consideration detour)             -> highest 2
  j3 (social)      ad_click 08:00; product_view on 2025-02-10 is after as_of               -> highest 1
  j4 (web)         purchase 12:00 (skips awareness and consideration), delivery two days later -> highest 4
  j5               starts 2025-02-05, after as_of: not counted
"""

from __future__ import annotations

import pytest

from tests.metrics_helpers import build_marts, fresh_settings, touchpoints

EVENTS = touchpoints(
    "p1 j1 2025-01-06 10:00 web page_view",
    "p1 j1 2025-01-06 10:10 web product_view",
    "p1 j1 2025-01-06 10:30 web add_to_cart",
    "p1 j1 2025-01-06 10:40 web purchase 30",
    "p2 j2 2025-01-07 09:00 email email_open",
    "p2 j2 2025-01-07 11:00 web review_read",
    "p3 j3 2025-01-08 08:00 social ad_click",
    "p3 j3 2025-02-10 08:00 web product_view",
    "p4 j4 2025-01-09 12:00 web purchase 50",
    "p4 j4 2025-01-11 12:00 email delivery",
    "p5 j5 2025-02-05 10:00 web page_view",
)


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    connection = build_marts(fresh_settings(tmp_path_factory.mktemp("stage_funnel")), EVENTS, "2025-01-31",
                             {"j2": "branching"}, {"p1": "b2c", "p2": "b2b"})
    yield connection
    connection.close()


def funnel(con, breakdown="overall", value="all") -> dict[str, tuple]:
    rows = con.execute(
        """select stage, n_journeys, n_reached, n_reached_next, conversion_to_next_rate, drop_off_rate,
                  median_time_to_next_s, p90_time_to_next_s
           from marts.stage_funnel where breakdown = ? and breakdown_value = ? order by stage_rank""",
        [breakdown, value],
    ).fetchall()
    return {r[0]: r[1:] for r in rows}


def test_a_stage_is_reached_when_the_highest_stage_is_it_or_later(con):
    """n_reached counts journeys whose highest stage is at or past the stage: 4, 3, 2, 1, 0."""
    reached = {stage: r[1] for stage, r in funnel(con).items()}
    assert reached == {"awareness": 4, "consideration": 3, "decision": 2, "retention": 1, "advocacy": 0}


def test_conversion_to_next_stage_and_drop_off(con):
    """conversion = reached(k+1) / reached(k), drop-off = 1 - conversion; none after the last stage."""
    rows = funnel(con)
    assert rows["awareness"][2:5] == (3, pytest.approx(3 / 4), pytest.approx(1 / 4))
    assert rows["consideration"][2:5] == (2, pytest.approx(2 / 3), pytest.approx(1 / 3))
    assert rows["decision"][2:5] == (1, pytest.approx(1 / 2), pytest.approx(1 / 2))
    assert rows["retention"][2:5] == (0, 0.0, 1.0)
    assert rows["advocacy"][2:5] == (None, None, None)


def test_time_from_first_reaching_a_stage_to_the_next(con):
    """Awareness -> consideration took 600 s (j1), 7200 s (j2) and 0 s (j4): median 600,
    p90 interpolated 600 + 0.8 * 6600 = 5880; decision -> retention took j4's two days."""
    rows = funnel(con)
    assert rows["awareness"][5:] == (600.0, pytest.approx(5880.0))
    assert rows["decision"][5:] == (172800.0, 172800.0)
    assert rows["retention"][5:] == (None, None)


def test_a_skipped_stage_is_reached_at_the_same_moment_as_the_next(con):
    """j4 starts with a purchase: it reached consideration and decision at once (0 s between)."""
    rows = funnel(con, "persona", "(none)")  # j3 and j4
    assert rows["consideration"][1:3] == (1, 1)
    assert rows["consideration"][5] == 0.0


def test_touchpoints_and_journeys_after_as_of_are_ignored(con):
    """j3's product_view on 2025-02-10 does not lift it to consideration; j5 is not counted at all."""
    assert funnel(con)["awareness"][0] == 4
    social = funnel(con, "first_channel", "social")
    assert social["awareness"][1:3] == (1, 0)


def test_breakdowns_slice_by_first_channel_journey_type_cohort_and_persona(con):
    """Each breakdown value is its own funnel: j1 and j4 start on the web and both reach consideration."""
    assert funnel(con, "first_channel", "web")["awareness"][:3] == (2, 2, 2)
    assert funnel(con, "journey_type", "branching")["consideration"][:3] == (1, 1, 0)
    assert funnel(con, "cohort_month", "2025-01")["awareness"][0] == 4
    assert funnel(con, "persona", "b2c")["decision"][:2] == (1, 1)


def test_every_stage_appears_for_every_breakdown_value(con):
    """Five rows per slice, zero counts included, so each slice reads as a complete funnel."""
    counts = con.execute(
        "select count(*) from marts.stage_funnel group by breakdown, breakdown_value"
    ).fetchall()
    assert {c for (c,) in counts} == {5}
    assert con.execute("select count(distinct breakdown) from marts.stage_funnel").fetchone()[0] == 5
