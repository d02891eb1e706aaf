"""The headline figures `journeys demo` prints: money in one currency, said with every figure.

The simulated customers pay in EUR and USD. With a rate table of 1 USD = 0.5 EUR (chosen so that
adding the two currencies' numbers, the old mistake, is far from the right figure), the revenue
printed must be EUR orders + half the USD orders."""

from __future__ import annotations

import re

import duckdb
import pytest

from journeys.summary import print_summary
from tests.sample_warehouse import build_sample_warehouse


@pytest.fixture(scope="module")
def summary(tmp_path_factory):
    folder = tmp_path_factory.mktemp("summary")
    rates = folder / "rates.yaml"
    rates.write_text("base: EUR\ndate: 2025-01-02\nrates: {EUR: 1, USD: 0.5}\n")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("JOURNEYS_CURRENCY_RATES_FILE", str(rates))
        env.delenv("JOURNEYS_REPORTING_CURRENCY", raising=False)
        settings = build_sample_warehouse(folder / "home")
    lines: list[str] = []
    print_summary(settings, lines.append)
    return "\n".join(lines), settings


def test_conversion_revenue_and_aov_are_converted_and_name_their_currency(summary):
    """Revenue = EUR orders + 0.5 x USD orders, worked out from the steps' original amounts; AOV is it
    per order; the sum of both currencies' numbers appears nowhere."""
    text, settings = summary
    con = duckdb.connect(str(settings.published_path), read_only=True)
    try:
        eur, usd, n_orders = con.execute(
            """select sum(original_revenue) filter (where original_currency = 'EUR'),
                      sum(original_revenue) filter (where original_currency = 'USD'),
                      count(distinct coalesce(order_id, event_id))
               from marts.journey_steps where is_conversion""").fetchone()
    finally:
        con.close()
    assert eur > 0 and usd > 0
    line = next(line for line in text.splitlines() if line.startswith("Conversion:"))
    assert f"revenue EUR {eur + 0.5 * usd:,.0f};" in line
    aov = re.search(r"average order EUR ([\d,.]+);", line)
    assert aov and float(aov.group(1).replace(",", "")) == pytest.approx((eur + 0.5 * usd) / n_orders, abs=0.01)
    assert f"{eur + usd:,.0f}" not in text


def test_clv_lines_name_their_currency_per_segment(summary):
    """One line per CLV segment, each figure with EUR."""
    text, _ = summary
    clv = text.split("Predicted 12-month CLV (marts.customer_value):\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert {line.split()[0] for line in clv} == {"b2b", "b2c"}
    assert all(re.search(r"median EUR [\d,.]+  top decile from EUR [\d,.]+", line) for line in clv), clv
