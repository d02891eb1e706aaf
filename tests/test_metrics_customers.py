"""Customers, churn and retention: marts.customer_churn_periods, marts.customer_lifecycle,
marts.churn_monthly and marts.cohort_retention, as of 2025-06-30 (end of day), with the defaults
churn_inactive_days 90, at_risk_inactive_days 45, new_customer_days 30, dormant_after_churn_days 90.

All times 10:00 UTC.
  p_gone    buys 2024-12-01                                   churned 2025-03-01 (90 days), 121 days ago: dormant
  p_back    buys 2025-01-02, then 2025-06-10                  churned 2025-04-02, back 2025-06-10: resurrected
  p_active  buys 2025-01-10 and 2025-03-01, visits 04-15, 06-20 (gaps 50, 45, 66 days): active
  p_lapsed  buys 2025-02-01, views a product 2025-03-01       churned 2025-05-30 (inactivity): churned
  p_mail    buys 2025-02-15; only e-mails *sent* after that   churned 2025-05-16 (passive events are not activity)
  p_cancel  subscribes 2025-03-01, cancels 04-01, buys 06-25  churned 04-01 (exit), back 06-25: resurrected
  p_risk    buys 2025-04-01, views a product 2025-05-01       60 days inactive: at_risk
  p_exit    buys 2025-05-01, unsubscribes 05-20, visits 06-01 churned at the exit (the visit is no conversion)
  p_new     buys 2025-06-15                                   new
  p_browse  only browses                                      not a customer
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.metrics_helpers import build_marts, fresh_settings, touchpoints

EVENTS = touchpoints(
    "p_gone g1 2024-12-01 10:00 web purchase 40",
    "p_back b1 2025-01-02 10:00 web purchase 20",
    "p_back b2 2025-06-10 10:00 web purchase 25",
    "p_active a1 2025-01-10 10:00 web purchase 10",
    "p_active a1 2025-03-01 10:00 store purchase 15",
    "p_active a1 2025-04-15 10:00 web page_view",
    "p_active a1 2025-06-20 10:00 web product_view",
    "p_lapsed l1 2025-02-01 10:00 web purchase 30",
    "p_lapsed l1 2025-03-01 10:00 web product_view",
    "p_mail m1 2025-02-15 10:00 web purchase 30",
    "p_mail m1 2025-04-01 10:00 email email_sent",
    "p_mail m1 2025-06-01 10:00 email email_sent",
    "p_cancel c1 2025-03-01 10:00 web subscription_start 10",
    "p_cancel c1 2025-04-01 10:00 web subscription_cancelled",
    "p_cancel c1 2025-06-25 10:00 web purchase 12",
    "p_risk r1 2025-04-01 10:00 web purchase 50",
    "p_risk r1 2025-05-01 10:00 web product_view",
    "p_exit e1 2025-05-01 10:00 web purchase 60",
    "p_exit e1 2025-05-20 10:00 email unsubscribe",
    "p_exit e1 2025-06-01 10:00 web page_view",
    "p_new n1 2025-06-15 10:00 store purchase 70",
    "p_browse x1 2025-06-01 10:00 web page_view",
)
JOURNEY_TYPES = {"c1": "cyclical"}
PERSONAS = {"p_active": "b2b", "p_back": "b2c"}


def at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T10:00")


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    connection = build_marts(fresh_settings(tmp_path_factory.mktemp("customers")), EVENTS, "2025-06-30",
                             JOURNEY_TYPES, PERSONAS)
    yield connection
    connection.close()


def lifecycle(con, person: str, columns: str) -> tuple:
    return con.execute(f"select {columns} from marts.customer_lifecycle where person_id = ?", [person]).fetchone()


def periods(con, person: str) -> list[tuple]:
    return con.execute(
        """select state, started_at, ended_at, reason from marts.customer_churn_periods
           where person_id = ? order by period_number""",
        [person],
    ).fetchall()


def month(con, month_start: str, breakdown: str = "overall", value: str = "all") -> tuple:
    return con.execute(
        """select n_customers_at_start, n_churned, churn_rate, n_acquired, n_resurrected, n_churn_events,
                  n_customers_at_end
           from marts.churn_monthly where month_start = ? and breakdown = ? and breakdown_value = ?""",
        [dt.date.fromisoformat(month_start), breakdown, value],
    ).fetchone()


def curve(con, cohort: str, breakdown: str = "overall", value: str = "all") -> list[float]:
    return [r[0] for r in con.execute(
        """select retention_rate from marts.cohort_retention
           where cohort_month = ? and breakdown = ? and breakdown_value = ? order by months_since_acquisition""",
        [dt.date.fromisoformat(cohort), breakdown, value],
    ).fetchall()]


# ---- who is a customer, and when they churn ------------------------------------------------------

def test_a_customer_is_a_person_with_a_conversion(con):
    """Nine persons bought something; p_browse only browsed and is not a customer."""
    persons = {p for (p,) in con.execute("select person_id from marts.customer_lifecycle").fetchall()}
    assert len(persons) == 9 and "p_browse" not in persons


def test_acquisition_is_the_first_of_several_conversions(con):
    """p_active converted twice: acquired at the first purchase, two conversions, last on 2025-03-01."""
    assert lifecycle(con, "p_active", "acquired_at, n_conversions, last_conversion_at") == (
        at("2025-01-10"), 2, at("2025-03-01"))


def test_inactivity_churn_starts_churn_inactive_days_after_the_last_activity(con):
    """p_lapsed was last active on 2025-03-01: churned 90 days later, on 2025-05-30, and still is."""
    assert periods(con, "p_lapsed") == [
        ("retained", at("2025-02-01"), at("2025-05-30"), "acquisition"),
        ("churned", at("2025-05-30"), None, "inactivity"),
    ]


def test_passive_events_are_not_activity(con):
    """E-mails sent to p_mail do not keep them active: last active at the purchase, churned 90 days on."""
    assert lifecycle(con, "p_mail", "last_active_at, churned_at, churn_reason") == (
        at("2025-02-15"), at("2025-05-16"), "inactivity")


def test_an_exit_churns_until_a_later_conversion(con):
    """p_exit unsubscribed on 2025-05-20; visiting the site afterwards (no conversion) does not undo it."""
    assert lifecycle(con, "p_exit", "is_churned, churned_at, churn_reason, churn_exit_event_type, last_active_at") == (
        True, at("2025-05-20"), "exit_event", "unsubscribe", at("2025-06-01"))


def test_a_conversion_after_an_exit_is_a_return(con):
    """p_cancel cancelled on 2025-04-01 and bought again on 2025-06-25: the exit period overlaps the
    inactivity from 2025-05-30, and both merge into one churned period."""
    assert periods(con, "p_cancel") == [
        ("retained", at("2025-03-01"), at("2025-04-01"), "acquisition"),
        ("churned", at("2025-04-01"), at("2025-06-25"), "exit_event"),
        ("retained", at("2025-06-25"), None, "return"),
    ]


def test_activity_after_a_long_gap_is_a_return(con):
    """p_back: churned 90 days after the purchase of 2025-01-02, back with the purchase of 2025-06-10."""
    assert periods(con, "p_back") == [
        ("retained", at("2025-01-02"), at("2025-04-02"), "acquisition"),
        ("churned", at("2025-04-02"), at("2025-06-10"), "inactivity"),
        ("retained", at("2025-06-10"), None, "return"),
    ]
    assert lifecycle(con, "p_back", "n_churns, n_returns, last_returned_at") == (1, 1, at("2025-06-10"))


# ---- lifecycle status ------------------------------------------------------------------------------

@pytest.mark.parametrize("person, status, reason", [
    ("p_gone", "dormant", "churned_over_dormant_after_churn_days_ago"),
    ("p_lapsed", "churned", "inactive_over_churn_inactive_days"),
    ("p_mail", "churned", "inactive_over_churn_inactive_days"),
    ("p_exit", "churned", "exit_without_later_conversion"),
    ("p_new", "new", "acquired_within_new_customer_days"),
    ("p_back", "resurrected", "returned_within_new_customer_days"),
    ("p_cancel", "resurrected", "returned_within_new_customer_days"),
    ("p_risk", "at_risk", "inactive_over_at_risk_inactive_days"),
    ("p_active", "active", "active_within_at_risk_inactive_days"),
])
def test_lifecycle_status_and_the_rule_that_decided_it(con, person, status, reason):
    """Each customer's status at as_of, with the first rule that held (see the module docstring)."""
    assert lifecycle(con, person, "status, status_reason") == (status, reason)


def test_dormant_and_churned_are_exactly_the_churned_customers(con):
    """is_churned holds for dormant and churned customers and for nobody else."""
    rows = con.execute("select status, is_churned from marts.customer_lifecycle").fetchall()
    assert all(is_churned == (status in ("dormant", "churned")) for status, is_churned in rows)


def test_churn_settings_come_from_settings(tmp_path):
    """With churn_inactive_days 200, p_lapsed (122 days inactive) is only at risk."""
    settings = fresh_settings(tmp_path).replace(churn_inactive_days=200)
    con = build_marts(settings, EVENTS, "2025-06-30")
    try:
        assert lifecycle(con, "p_lapsed", "status, is_churned") == ("at_risk", False)
    finally:
        con.close()


# ---- monthly churn ---------------------------------------------------------------------------------

def test_monthly_churn_rate_is_churned_over_customers_at_month_start(con):
    """March: p_gone of 5 (0.2); April: p_cancel and p_back of 5 (0.4); May: p_mail and p_lapsed of 4 (0.5)."""
    assert month(con, "2025-03-01")[:3] == (5, 1, 0.2)
    assert month(con, "2025-04-01")[:3] == (5, 2, 0.4)
    assert month(con, "2025-05-01")[:3] == (4, 2, 0.5)


def test_a_customer_acquired_and_lost_in_the_same_month_is_an_event_not_in_the_rate(con):
    """p_exit was acquired and unsubscribed in May: 3 churn events, 2 of them in the rate."""
    assert month(con, "2025-05-01") == (4, 2, 0.5, 1, 0, 3, 2)


def test_returns_count_as_resurrected_and_back_at_month_end(con):
    """June: nobody churned of 2; p_new acquired, p_back and p_cancel back: 5 at the end."""
    assert month(con, "2025-06-01") == (2, 0, 0.0, 1, 2, 0, 5)


def test_months_run_from_the_first_acquisition_to_as_of(con):
    """December 2024 (p_gone's purchase) to June 2025; December starts with nobody, so no rate."""
    months = [r[0] for r in con.execute(
        "select month_start from marts.churn_monthly where breakdown = 'overall' order by month_start").fetchall()]
    assert months[0] == dt.date(2024, 12, 1) and months[-1] == dt.date(2025, 6, 1) and len(months) == 7
    assert month(con, "2024-12-01")[:4] == (0, 0, None, 1)


def test_monthly_churn_by_journey_type(con):
    """Acquired in a cyclical journey: p_cancel alone, who churned in April (rate 1.0)."""
    assert month(con, "2025-04-01", "journey_type", "cyclical")[:3] == (1, 1, 1.0)


# ---- cohort retention ------------------------------------------------------------------------------

def test_cohort_retention_is_the_share_not_churned_at_each_month_end(con):
    """January cohort (p_back, p_active): both retained to March, p_back churned in April, back in June."""
    assert curve(con, "2025-01-01") == [1.0, 1.0, 1.0, 0.5, 0.5, 1.0]


def test_a_customer_who_returns_counts_as_retained_again(con):
    """March cohort (p_cancel): churned in April, retained again at the end of June."""
    assert curve(con, "2025-03-01") == [1.0, 0.0, 0.0, 1.0]


def test_cohort_retention_by_persona(con):
    """January cohort, b2c (p_back only): [1, 1, 1, 0, 0, 1]."""
    assert curve(con, "2025-01-01", "persona", "b2c") == [1.0, 1.0, 1.0, 0.0, 0.0, 1.0]


def test_cohort_months_stop_at_as_of(con):
    """The June cohort has only month 0, measured at as_of, which ends June: complete, not partial."""
    rows = con.execute(
        """select months_since_acquisition, measured_at, is_partial_month, n_customers, n_retained
           from marts.cohort_retention where cohort_month = '2025-06-01' and breakdown = 'overall'"""
    ).fetchall()
    assert rows == [(0, dt.datetime(2025, 6, 30, 23, 59, 59, 999999), False, 1, 1)]
