"""Subscriptions into the sBG marts (transforms/retention.py), on events worked out by hand."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest

from journeys import warehouse
from journeys.settings import Settings
from journeys.transforms import retention
from journeys.transforms import retention_sbg as sbg

AS_OF = dt.datetime(2025, 6, 1)
# (person, event type, date, revenue): one monthly plan "M" (30-day periods)
EVENTS = [
    ("p1", "subscription_start", "2025-01-01", 10.0),   # 4 renewals, last paid 05-01: active after 4 periods
    ("p1", "subscription_renewed", "2025-01-31", 10.0),
    ("p1", "subscription_renewed", "2025-03-02", 10.0),
    ("p1", "subscription_renewed", "2025-04-01", 10.0),
    ("p1", "subscription_renewed", "2025-05-01", 12.0),
    ("p2", "subscription_start", "2025-01-01", 10.0),   # renewed once, then cancelled: lost in period 2
    ("p2", "subscription_renewed", "2025-01-31", 10.0),
    ("p2", "subscription_cancelled", "2025-02-10", None),  # (with no product_id, as the simulator writes it)
    ("p3", "subscription_start", "2025-02-01", 10.0),   # never renewed, 120 days quiet: lapsed, lost in period 1
    ("p4", "subscription_start", "2025-05-20", 10.0),   # new: active after 0 periods
    ("p5", "subscription_start", "2025-01-01", 10.0),   # cancelled in period 1 ...
    ("p5", "subscription_cancelled", "2025-01-15", None),
    ("p5", "subscription_start", "2025-03-01", 10.0),   # ... and back: 3 renewals, active after 3 periods
    ("p5", "subscription_renewed", "2025-03-31", 10.0),
    ("p5", "subscription_renewed", "2025-04-30", 10.0),
    ("p5", "subscription_renewed", "2025-05-30", 10.0),
    ("p6", "subscription_start", "2025-04-01", 10.0),   # cancelled and started again at one instant:
    ("p6", "subscription_cancelled", "2025-04-20", None),  # the first lost in period 1,
    ("p6", "subscription_start", "2025-04-20", 10.0),   # the second active after 0 periods
]
LOST = [3, 1, 0, 0, 0]          # p3, p5's first and p6's first in period 1, p2 in period 2
ACTIVE = [2, 0, 0, 1, 1, 0]     # after 0 periods p4 and p6's second, after 3 p5's second, after 4 p1


@pytest.fixture
def built(tmp_path):
    settings = Settings(home=tmp_path / "home", as_of=AS_OF, retention_min_subscribers=1)
    steps = pd.DataFrame([{"person_id": person, "event_id": f"e{i:02d}",
                           "product_id": None if kind == "subscription_cancelled" else "M", "event_type": kind,
                           "occurred_at": dt.datetime.fromisoformat(day) + dt.timedelta(hours=9),
                           "revenue": revenue, "currency": "EUR" if revenue else None}
                          for i, (person, kind, day, revenue) in enumerate(EVENTS)])
    with warehouse.writer(settings) as con:
        con.execute("create schema marts")
        con.register("steps", steps)
        con.execute("create table marts.journey_steps as select * from steps")
        rows = retention.build_retention(con, settings)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    yield con, rows, settings
    con.close()


def test_the_plan_is_fitted_on_the_periods_counted_by_hand(built):
    con, rows, _ = built
    expected = sbg.fit(np.array(LOST), np.array(ACTIVE))
    params = dict(con.execute("select parameter, value from marts.retention_model_params").fetchall())
    assert params == {"gamma": pytest.approx(expected.gamma, rel=1e-9), "delta": pytest.approx(expected.delta, rel=1e-9)}
    assert con.execute("select distinct model, segment, period_days, n_subscribers, log_likelihood, as_of "
                       "from marts.retention_model_params").fetchall() == [
        ("sbg", "M", 30.0, 8, pytest.approx(expected.log_likelihood, rel=1e-9), AS_OF)]
    assert rows[retention.PARAMS] == 2


def test_active_subscriptions_are_valued_with_the_fit(built):
    con, _, settings = built
    fit = sbg.fit(np.array(LOST), np.array(ACTIVE))
    got = con.execute("select person_id, renewals_made, renewal_probability, derl, payment, residual_value "
                      "from marts.subscriber_value order by person_id").fetchall()
    assert [(person, renewals) for person, renewals, *_ in got] == [("p1", 4), ("p4", 0), ("p5", 3), ("p6", 0)]
    discount = (1 + settings.clv_discount_rate_annual) ** (30 / 365.25) - 1
    for person, renewals, probability, derl, payment, value in got:
        assert probability == pytest.approx((fit.delta + renewals) / (fit.gamma + fit.delta + renewals), rel=1e-9)
        assert derl == pytest.approx(float(sbg.derl(fit.gamma, fit.delta, renewals, discount)), rel=1e-9)
        assert payment == {"p1": 12.0, "p4": 10.0, "p5": 10.0, "p6": 10.0}[person]  # the last payment
        assert value == pytest.approx(derl * payment, rel=1e-12)


def test_the_projection_beside_the_kaplan_meier_curve(built):
    con, _, _ = built
    fit = sbg.fit(np.array(LOST), np.array(ACTIVE))
    got = con.execute("select period, observed_survival, projected_survival, n_at_risk, is_projection "
                      "from marts.retention_projection order by period").fetchall()
    # by hand: at risk in period 1: 8 less p4 and p6's second (observed for 0 periods) = 6, 3 lost -> 0.5;
    # period 2: 3 at risk (p1, p2, p5's second), 1 lost -> 1/3; nobody lost after; nobody observed for 5
    assert [row[1] for row in got[:5]] == pytest.approx([1.0, 0.5, 1 / 3, 1 / 3, 1 / 3])
    assert [row[3] for row in got[:6]] == [8, 3, 2, 2, 1, 0]
    assert got[5][1] is None and not got[5][4]
    assert all(row[1] is None and row[4] for row in got[6:])
    assert len(got) == 6 + 12  # 12 monthly periods of projection past the longest tenure (clv_horizon_months)
    assert [row[2] for row in got] == pytest.approx(list(sbg.survival(fit.gamma, fit.delta, np.arange(len(got)))))
