"""Money: revenue is converted into the reporting currency once, in staging, and no figure adds
currencies together.

The shop: c1 buys for EUR 10, c2 for USD 11, and the rate table says 1 USD = 0.9 EUR. In EUR that
is 10 + 11 x 0.9 = 19.90 (not 21, the sum of the two numbers); in USD it is 10 / 0.9 + 11 = 22.11.
"""

from __future__ import annotations

import pytest

from journeys.quality.gates import run_gates
from journeys.quality.suites import currency as currency_suite
from journeys.quality.suites import gates_for
from journeys.transforms import build_plan
from journeys.transforms.currency import RateTable, parse_rates
from tests.helpers import events, one, rows, settings, warehouse
from tests.metrics_helpers import METRICS_TABLES

RATES = "base: EUR\ndate: 2025-01-02\nrates:\n  EUR: 1\n  USD: 0.9\n"
SHOP = [
    {"customer_id": "c1", "channel": "web", "event_type": "page_view"},
    {"customer_id": "c1", "channel": "web", "event_type": "purchase", "revenue": 10.0, "currency": "EUR", "order_id": "o1"},
    {"customer_id": "c2", "channel": "email", "event_type": "email_open"},
    {"customer_id": "c2", "channel": "web", "event_type": "purchase", "revenue": 11.0, "currency": "usd", "order_id": "o2"},
]


@pytest.fixture
def rates_file(tmp_path):
    path = tmp_path / "rates.yaml"
    path.write_text(RATES)
    return path


def build_all(tmp_path, specs, **overrides):
    """raw -> staging -> journey model -> metrics -> CX marts in a real DuckDB file; returns (con, settings)."""
    con = warehouse(tmp_path)
    events(con, specs)
    custom = settings(home=tmp_path / "home", **overrides)
    build_plan.build(con, custom)
    return con, custom


@pytest.fixture
def shop(tmp_path, rates_file):
    con, custom = build_all(tmp_path, SHOP, currency_rates_file=rates_file)
    yield con, custom
    con.close()


def test_staging_converts_each_order_and_keeps_what_arrived(shop):
    """c2's USD 11 is EUR 9.90 at 0.9; the original amount, currency and rate stay for audit."""
    con, _ = shop
    assert one(con, """select revenue, currency, original_revenue, original_currency, fx_rate
                       from staging.stg_touchpoints where customer_id = 'c2' and revenue is not null""") == pytest.approx(
        {"revenue": 9.9, "currency": "EUR", "original_revenue": 11.0, "original_currency": "USD", "fx_rate": 0.9})
    steps = rows(con, """select revenue, currency, original_revenue, original_currency, fx_rate
                         from marts.journey_steps where revenue is not null order by original_currency""")
    assert steps == [
        {"revenue": 10.0, "currency": "EUR", "original_revenue": 10.0, "original_currency": "EUR", "fx_rate": 1.0},
        pytest.approx({"revenue": 9.9, "currency": "EUR", "original_revenue": 11.0, "original_currency": "USD",
                       "fx_rate": 0.9}),
    ]


def test_every_revenue_figure_of_the_marts_is_in_the_reporting_currency(shop):
    """EUR 10 + USD 11 at 0.9 is EUR 19.90 in every mart that sums them, and AOV is 19.90 / 2 = 9.95."""
    con, _ = shop
    assert one(con, "select sum(revenue) as revenue, string_agg(distinct currency) as currency from marts.journeys") \
        == pytest.approx({"revenue": 19.9, "currency": "EUR"})
    assert one(con, """select revenue, average_order_value, currency from marts.conversion
                       where period_grain = 'all' and breakdown = 'overall'""") == pytest.approx(
        {"revenue": 19.9, "average_order_value": 9.95, "currency": "EUR"})
    value = {r["customer_id"]: (r["revenue_to_date"], r["predicted_clv_12m"], r["currency"]) for r in rows(
        con, "select customer_id, revenue_to_date, predicted_clv_12m, currency from marts.customer_value")}
    assert value == {"c1": (10.0, 10.0, "EUR"), "c2": pytest.approx((9.9, 9.9, "EUR"))}
    assert sorted((r["monetary"], r["currency"]) for r in rows(con, "select monetary, currency from marts.customer_segments")) \
        == [pytest.approx((9.9, "EUR")), (10.0, "EUR")]
    assert one(con, "select sum(revenue) as revenue from marts.path_variants where journey_type = 'all'") \
        == pytest.approx({"revenue": 19.9})
    totals = rows(con, """select model, dimension, sum(revenue) as revenue, string_agg(distinct currency) as currency
                          from marts.attribution group by all order by all""")
    assert len(totals) == 12 and all(t["revenue"] == pytest.approx(19.9) and t["currency"] == "EUR" for t in totals)


def test_another_reporting_currency_converts_through_the_base(tmp_path, rates_file):
    """Reporting in USD with the same EUR-based table: EUR 10 is 10 / 0.9 = USD 11.11, USD 11 stays 11."""
    con, _ = build_all(tmp_path, SHOP, currency_rates_file=rates_file, reporting_currency="USD")
    assert one(con, "select sum(revenue) as revenue, any_value(currency) as currency from marts.journeys") \
        == pytest.approx({"revenue": 10 / 0.9 + 11, "currency": "USD"})
    assert one(con, "select fx_rate from marts.journey_steps where original_currency = 'USD'")["fx_rate"] == 1.0


def test_the_currency_gates_pass_on_converted_marts(shop):
    """A rate for every currency and one currency per figure: every currency gate passes (real GX)."""
    con, custom = shop
    results = run_gates(con, currency_suite.GATES, custom)
    assert [r.line() for r in results if not r.passed] == []
    assert len(results) == 1 + len(currency_suite.REVENUE_MARTS)


def test_revenue_in_a_currency_without_a_rate_is_never_summed_and_blocks_the_build(tmp_path, rates_file):
    """Two GBP orders the table has no rate for: revenue NULL (not summed as if EUR), and the ERROR gate
    names GBP and how many touchpoints carry it; an order without a currency is named too."""
    con, custom = build_all(tmp_path, [*SHOP,
        {"customer_id": "c3", "event_type": "purchase", "revenue": 50.0, "currency": "GBP"},
        {"customer_id": "c3", "event_type": "purchase", "revenue": 70.0, "currency": "GBP"},
        {"customer_id": "c4", "event_type": "purchase", "revenue": 5.0, "currency": None}],
        currency_rates_file=rates_file)
    assert one(con, "select sum(revenue) as revenue from marts.journeys") == pytest.approx({"revenue": 19.9})
    assert one(con, "select count(*) as n from staging.stg_touchpoints where original_currency = 'GBP' and revenue is null") \
        == {"n": 2}
    (result,) = run_gates(con, [g for g in gates_for("staging.stg_touchpoints") if g.name == "revenue_has_a_rate"], custom)
    assert not result.passed and result.severity == "ERROR"
    assert result.message == (f"2 touchpoint(s) with revenue in GBP have no rate to EUR in {rates_file}; "
                              "1 touchpoint(s) with revenue have no currency")


def test_a_mart_that_adds_currencies_together_fails_its_gate(shop):
    """A model that bypassed the conversion (USD 11 left as 11 USD on the step): marts.conversion then
    adds EUR and USD in one figure, and one_currency_per_figure fails on both tables, saying so."""
    con, custom = shop
    con.execute("update marts.journey_steps set revenue = original_revenue, currency = original_currency")
    build_plan.build(con, custom, METRICS_TABLES)
    (steps,) = run_gates(con, [g for g in gates_for("marts.journey_steps") if g.name == "one_currency_per_figure"], custom)
    (conversion,) = run_gates(con, [g for g in gates_for("marts.conversion") if g.name == "one_currency_per_figure"], custom)
    assert not steps.passed and steps.message == "1 row(s) of marts.journey_steps are in USD, not the reporting currency EUR"
    assert not conversion.passed
    assert "row(s) of marts.conversion add EUR and USD together in one figure" in conversion.message
    assert one(con, """select revenue, currency from marts.conversion
                       where period_grain = 'all' and breakdown = 'overall'""") == {"revenue": 21.0, "currency": "EUR,USD"}


def test_a_rate_table_converts_through_its_base():
    """base EUR, 1 USD = 0.9 EUR, 1 GBP = 1.2 EUR: into GBP, USD is 0.75 and EUR 1 / 1.2."""
    table = parse_rates({"base": "EUR", "date": "2025-01-02", "rates": {"USD": 0.9, "GBP": 1.2}})
    assert isinstance(table, RateTable) and table.rates == {"USD": 0.9, "GBP": 1.2, "EUR": 1.0}
    assert table.to("GBP") == pytest.approx({"EUR": 1 / 1.2, "GBP": 1.0, "USD": 0.75})
