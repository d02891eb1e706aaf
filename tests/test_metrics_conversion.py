"""marts.conversion: journey conversion rate, revenue, AOV and time to convert per period and breakdown.

As of 2025-01-31 (weeks start on Monday 2025-01-06, 13 and 20):
  j1 p1 web   page_view Mon 06 10:00, email_click 11:00 (email), purchase 12:00 (30, o1),
              purchase Wed 08 (20, o2)        -> converted once, 2 orders, 50, 7200 s, last touch email
  j2 p2 store purchase Tue 07 09:00 (100, o3) -> converted at its first touchpoint, 0 s, last touch store
  j3 p3 web   page_view Tue 14, product_view  -> not converted, last touch web
  j4 p4 social ad_click Mon 20; purchase on 2025-02-03 is after as_of -> not converted, last touch social
Overall: 4 journeys, 2 converted (0.5), 3 orders, revenue 150, AOV 50, 37.5 per journey,
time to convert 0 s and 7200 s: median and mean 3600 s.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.metrics_helpers import build_marts, fresh_settings, touchpoints

EVENTS = touchpoints(
    "p1 j1 2025-01-06 10:00 web page_view",
    "p1 j1 2025-01-06 11:00 email email_click",
    "p1 j1 2025-01-06 12:00 web purchase 30 order=o1",
    "p1 j1 2025-01-08 12:00 web purchase 20 order=o2",
    "p2 j2 2025-01-07 09:00 store purchase 100 order=o3",
    "p3 j3 2025-01-14 10:00 web page_view",
    "p3 j3 2025-01-14 10:05 web product_view",
    "p4 j4 2025-01-20 10:00 social ad_click",
    "p4 j4 2025-02-03 10:00 web purchase 80 order=o4",
)
COLUMNS = ("n_journeys, n_converted_journeys, conversion_rate, n_orders, revenue, average_order_value, "
           "revenue_per_journey, median_time_to_convert_s, mean_time_to_convert_s")


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    connection = build_marts(fresh_settings(tmp_path_factory.mktemp("conversion")), EVENTS, "2025-01-31",
                             {"j1": "complex"}, {"p1": "b2c", "p2": "b2c", "p3": "b2b"})
    yield connection
    connection.close()


def row(con, grain="all", breakdown="overall", value="all", period_start=None) -> tuple:
    return con.execute(
        f"""select {COLUMNS} from marts.conversion
            where period_grain = ? and period_start is not distinct from ? and breakdown = ? and breakdown_value = ?""",
        [grain, period_start, breakdown, value],
    ).fetchone()


def test_overall_conversion_rate_revenue_and_average_order_value(con):
    """2 of 4 journeys converted; 3 orders worth 150: AOV 50, 37.5 per journey."""
    assert row(con)[:7] == (4, 2, 0.5, 3, 150.0, 50.0, 37.5)


def test_time_to_convert_is_from_journey_start_to_first_conversion(con):
    """j1 converted 7200 s after its start, j2 at its start: median and mean 3600 s."""
    assert row(con)[7:] == (3600.0, 3600.0)


def test_a_second_conversion_adds_orders_and_revenue_but_converts_once(con):
    """j1's two purchases: one converted journey, 2 orders, 50 revenue, AOV 25, time to the first."""
    assert row(con, breakdown="journey_type", value="complex") == (1, 1, 1.0, 2, 50.0, 25.0, 50.0, 7200.0, 7200.0)


def test_last_touch_is_the_channel_before_the_first_conversion(con):
    """j1's last touch before buying is e-mail; j2 bought first, so its own channel; the others' last touch."""
    by_channel = dict(con.execute(
        """select breakdown_value, n_converted_journeys from marts.conversion
           where period_grain = 'all' and breakdown = 'last_touch_channel'"""
    ).fetchall())
    assert by_channel == {"email": 1, "store": 1, "web": 0, "social": 0}


def test_first_touch_breakdown(con):
    """First touch on the web: j1 (converted) and j3 (not): rate 0.5."""
    assert row(con, breakdown="first_channel", value="web")[:3] == (2, 1, 0.5)


def test_journeys_count_in_the_week_they_started(con):
    """Week of Monday 2025-01-06 holds j1 and j2 (both converted); the next two weeks one journey each."""
    weeks = con.execute(
        """select period_start, n_journeys, n_converted_journeys from marts.conversion
           where period_grain = 'week' and breakdown = 'overall' order by period_start"""
    ).fetchall()
    assert weeks == [(dt.date(2025, 1, 6), 2, 2), (dt.date(2025, 1, 13), 1, 0), (dt.date(2025, 1, 20), 1, 0)]


def test_day_and_month_grains(con):
    """Day 2025-01-07 is j2 alone; month 2025-01 is all four journeys."""
    assert row(con, "day", period_start=dt.date(2025, 1, 7))[:3] == (1, 1, 1.0)
    assert row(con, "month", period_start=dt.date(2025, 1, 1))[:2] == (4, 2)


def test_a_conversion_after_as_of_does_not_count(con):
    """j4 bought on 2025-02-03, after as_of: not converted, no revenue."""
    assert row(con, breakdown="first_channel", value="social")[:5] == (1, 0, 0.0, 0, 0.0)


def test_persona_breakdown_and_missing_values(con):
    """b2c holds j1 and j2; j4's person has no persona and shows as '(none)'."""
    assert row(con, breakdown="persona", value="b2c")[:2] == (2, 2)
    assert row(con, breakdown="persona", value="(none)")[:2] == (1, 0)
