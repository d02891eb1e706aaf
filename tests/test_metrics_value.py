"""marts.customer_value and marts.clv_model_params: value to date, predicted CLV, the fitted parameters.

As of 2025-03-31 (end of day):
  p_twice  buys 2025-03-01 10:00 (20, o1) and 15:00 (30, o2), same day, then 2025-03-10 (10, o3):
           3 orders on 2 purchase days, 60 in all, AOV 20
  p_one    buys 2025-02-01 00:00 (40); a purchase on 2025-04-10 is after as_of
One repeat buyer is far below the 30 the models need, so predicted CLV is the historical fallback.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from journeys.transforms import clv_bg_nbd, clv_gamma_gamma
from tests.metrics_helpers import build_marts, fresh_settings, rows, touchpoints

EVENTS = touchpoints(
    "p_twice t1 2025-03-01 10:00 web purchase 20 order=o1",
    "p_twice t1 2025-03-01 15:00 web purchase 30 order=o2",
    "p_twice t1 2025-03-10 10:00 web purchase 10 order=o3",
    "p_one o1 2025-02-01 00:00 store purchase 40 order=o4",
    "p_one o1 2025-04-10 00:00 store purchase 99 order=o5",
)


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    connection = build_marts(fresh_settings(tmp_path_factory.mktemp("value")), EVENTS, "2025-03-31")
    yield connection
    connection.close()


def value(con, person: str, columns: str) -> tuple:
    return con.execute(f"select {columns} from marts.customer_value where person_id = ?", [person]).fetchone()


def test_a_same_day_double_purchase_is_two_orders_on_one_purchase_day(con):
    """p_twice: 3 orders (two on 2025-03-01) on 2 purchase days, 60 to date, AOV 60 / 3 = 20."""
    assert value(con, "p_twice", "n_orders, n_purchase_days, revenue_to_date, average_order_value") == (3, 2, 60.0, 20.0)


def test_value_to_date_ignores_purchases_after_as_of(con):
    """p_one's purchase of 2025-04-10 does not count: one order of 40."""
    assert value(con, "p_one", "n_orders, revenue_to_date, last_purchase_at") == (1, 40.0, dt.datetime(2025, 2, 1))


def test_tenure_is_days_from_acquisition_to_as_of(con):
    """2025-02-01 00:00 to the end of 2025-03-31 is 59 days (less a microsecond)."""
    assert value(con, "p_one", "tenure_days")[0] == pytest.approx(59.0, abs=1e-6)


def test_too_few_repeat_buyers_fall_back_to_historical_value(con):
    """No model: clv_method says so, probability and expectations are NULL, CLV is last-12-month revenue."""
    assert value(con, "p_twice", "clv_method, probability_alive, expected_transactions_12m, predicted_clv_12m, "
                                 "is_predicted_at_risk") == ("historical_fallback", None, None, 60.0, None)


def test_no_fit_leaves_an_empty_parameter_table_that_says_why(con):
    """clv_model_params keeps its columns with no rows, and its comment carries predict_clv's reason."""
    assert con.execute("select count(*) from marts.clv_model_params").fetchone()[0] == 0
    columns = [r[0] for r in con.execute("describe marts.clv_model_params").fetchall()]
    assert columns == ["segment", "model", "parameter", "value", "time_unit", "log_likelihood", "n_customers", "as_of"]
    comment = con.execute(
        "select comment from duckdb_tables() where schema_name = 'marts' and table_name = 'clv_model_params'"
    ).fetchone()[0]
    assert "all: only 1 repeat buyer (< 30)" in comment


def test_customer_value_carries_the_lifecycle_status(con):
    """p_twice was acquired 30.6 days before as_of (no longer new) and bought 21 days ago: active."""
    assert value(con, "p_twice", "lifecycle_status, cohort_month") == ("active", dt.date(2025, 3, 1))


def shop(n: int, seed: int) -> pd.DataFrame:
    """n customers acquired during 2024, one journey each, buying the way the models assume: at a
    Gamma-distributed daily rate (about one purchase a month), dropping out after each repeat
    purchase with a Beta-distributed probability, spending Gamma(6, nu) per order with a
    per-customer nu ~ Gamma(4, 1/15)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        start = dt.datetime(2024, 1, 1) + dt.timedelta(days=float(rng.uniform(0, 330)))
        horizon = (dt.datetime(2024, 12, 31) - start).total_seconds() / 86400
        rate, dropout, nu = rng.gamma(2.0, 1 / 60), rng.beta(1.0, 4.0), rng.gamma(4.0, 1 / 15.0)
        offsets, clock = [0.0], 0.0
        while True:
            clock += rng.exponential(1 / rate)
            if clock > horizon:
                break
            offsets.append(clock)
            if rng.random() < dropout:
                break
        for k, offset in enumerate(offsets):
            rows.append({"person_id": f"c{i}", "journey_id": f"j{i}", "event_id": f"c{i}-{k}",
                         "occurred_at": start + dt.timedelta(days=offset), "channel": "web",
                         "event_type": "purchase", "revenue": float(rng.gamma(6.0, 1 / nu)), "order_id": f"c{i}-{k}"})
    return pd.DataFrame(rows)


def test_enough_repeat_buyers_fit_the_models_and_publish_their_parameters(tmp_path):
    """300 simulated customers: BG/NBD (r, alpha, a, b) and Gamma-Gamma (p, q, gamma) are fitted, and every
    customer gets a probability alive and a predicted CLV from them."""
    con = build_marts(fresh_settings(tmp_path), shop(300, seed=5), "2024-12-31")
    try:
        params = con.execute("select model, parameter, n_customers from marts.clv_model_params").fetchall()
        assert {(m, p) for m, p, _ in params} == {("bg_nbd", p) for p in clv_bg_nbd.PARAMETERS} | {
            ("gamma_gamma", p) for p in clv_gamma_gamma.PARAMETERS}
        assert {n for m, _, n in params if m == "bg_nbd"} == {300}
        methods, alive_ok, n_rows = con.execute(
            """select list(distinct clv_method), bool_and(probability_alive between 0 and 1 and predicted_clv_12m >= 0),
                      count(*) from marts.customer_value"""
        ).fetchone()
        assert (methods, alive_ok, n_rows) == (["bg_nbd_gamma_gamma"], True, 300)
        assert rows(con, "select distinct segment from marts.clv_model_params") == [("all",)]  # no personas known
    finally:
        con.close()


def subscriber(person: str, months: int) -> pd.DataFrame:
    """A subscription of 25 a month from 2024-02-01: the start, then a renewal each month."""
    return pd.DataFrame([
        {"person_id": person, "journey_id": f"j_{person}", "event_id": f"{person}-{m}",
         "occurred_at": dt.datetime(2024, 2 + m, 1), "channel": "web",
         "event_type": "subscription_renewed" if m else "subscription_start", "revenue": 25.0, "order_id": None}
        for m in range(months)
    ])


def test_models_are_fitted_per_persona_on_purchases_only(tmp_path):
    """290 b2c buyers fit; the 10 b2b ones fall back on their own. Subscriber s1 (b2c, 10 payments of 25,
    2024-02-01 .. 2024-11-01) is not fitted, keeps 250 as historical value and in revenue_to_date."""
    events = pd.concat([shop(300, seed=5), subscriber("s1", 10)], ignore_index=True)
    personas = {f"c{i}": "b2b" if i < 10 else "b2c" for i in range(300)} | {"s1": "b2c"}
    con = build_marts(fresh_settings(tmp_path), events, "2024-12-31", personas=personas)
    try:
        assert rows(con, "select distinct segment, model from marts.clv_model_params order by all") == [
            ("b2c", "bg_nbd"), ("b2c", "gamma_gamma")]
        assert rows(con, "select distinct n_customers from marts.clv_model_params where model = 'bg_nbd'") == [(290,)]
        methods = "select clv_segment, clv_method, count(*) from marts.customer_value group by all order by all"
        assert rows(con, methods) == [
            ("b2b", "historical_fallback", 10), ("b2c", "bg_nbd_gamma_gamma", 290), ("b2c", "historical_fallback", 1)]
        assert value(con, "s1", "clv_method, predicted_clv_12m, revenue_to_date") == ("historical_fallback", 250.0, 250.0)
        comment = rows(con, "select comment from duckdb_tables() where table_name = 'clv_model_params'")[0][0]
        assert "b2b: only " in comment and "(< 30): no model fitted" in comment and " | b2c: fitted BG/NBD on 290" in comment
    finally:
        con.close()
