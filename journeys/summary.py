"""The headline figures `journeys demo` ends with, read from the published warehouse.

Money is shown with its currency: the marts hold every revenue, AOV and CLV figure in the
reporting currency (converted once, in staging) and say which in their `currency` column."""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from journeys import warehouse
from journeys.settings import Settings

Echo = Callable[[str], None]


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def _pct(value) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _money(value, currency: str | None, decimals: int = 0) -> str:
    return "n/a" if value is None else f"{currency or '(currency unknown)'} {value:,.{decimals}f}"


def events(con, echo: Echo) -> None:
    echo("\nEvents per channel (raw.touchpoints):")
    for channel, n in _rows(con, "select channel, count(*) from raw.touchpoints group by 1 order by 2 desc"):
        echo(f"  {channel:12} {n:>10,}")
    loaded, dead = _rows(con, "select sum(n_loaded), sum(n_dead_lettered) from raw.load_runs")[0]
    echo(f"loaded {loaded or 0:,}, dead-lettered {dead or 0:,}")


def journeys_by_type(con, echo: Echo) -> None:
    echo("\nJourneys by type (marts.journeys):")
    for journey_type, n, share, converted in _rows(con, """
            select journey_type, count(*), count(*) / sum(count(*)) over (), avg(is_converted::int)
            from marts.journeys group by 1 order by 2 desc"""):
        echo(f"  {journey_type:10} {n:>8,}  {_pct(share):>6} of journeys, {_pct(converted):>6} converted")


def stage_drop_off(con, echo: Echo) -> None:
    echo("\nStage funnel (marts.stage_funnel, all journeys):")
    for stage, reached, drop_off, next_stage in _rows(con, """
            select stage, n_reached, drop_off_rate, next_stage from marts.stage_funnel
            where breakdown = 'overall' order by stage_rank"""):
        tail = f"  drop-off to {next_stage}: {_pct(drop_off)}" if next_stage else ""
        echo(f"  {stage:15} {reached:>8,}{tail}")


def conversion(con, echo: Echo) -> None:
    rate, revenue, aov, median_s, currency = _rows(con, """
        select conversion_rate, revenue, average_order_value, median_time_to_convert_s, currency from marts.conversion
        where period_grain = 'all' and breakdown = 'overall'""")[0]
    median_h = "n/a" if median_s is None else f"{median_s / 3600:.1f} h"
    echo(f"\nConversion: {_pct(rate)} of journeys; revenue {_money(revenue, currency)}; "
         f"average order {_money(aov, currency, 2)}; median time to convert {median_h}")


def churn(con, echo: Echo) -> None:
    echo("\nMonthly churn (marts.churn_monthly, complete months):")
    for month, at_start, churned, rate in _rows(con, """
            select month_start, n_customers_at_start, n_churned, churn_rate from marts.churn_monthly
            where breakdown = 'overall' and not is_partial_month order by month_start desc limit 4"""):
        echo(f"  {month:%Y-%m}  {at_start:>6,} active at start, {churned:>5,} churned = {_pct(rate)}")


def clv(con, echo: Echo) -> None:
    rows = _rows(con, """
        select coalesce(clv_segment, 'all'), currency, count(*), median(predicted_clv_12m),
               quantile_cont(predicted_clv_12m, 0.9), string_agg(distinct clv_method, ', ')
        from marts.customer_value group by 1, 2 order by 1, 2""")
    echo("\nPredicted 12-month CLV (marts.customer_value):")
    for segment, currency, n, median, p90, methods in rows:
        echo(f"  {segment:4} {n:>6,} customers  median {_money(median, currency, 2)}  "
             f"top decile from {_money(p90, currency, 2)}  ({methods})")


def satisfaction(con, echo: Echo) -> None:
    nps, n_nps, csat, n_csat, ces, n_ces = _rows(con, """
        select nps, n_nps_responses, csat, n_csat_responses, ces, n_ces_responses
        from marts.satisfaction where dimension = 'all'""")[0]
    nps_text, ces_text = ("n/a" if nps is None else f"{nps:+.0f}"), ("n/a" if ces is None else f"{ces:.2f} of 7")
    echo(f"\nSatisfaction: NPS {nps_text} (n={n_nps:,}), CSAT {_pct(csat)} (n={n_csat:,}), "
         f"CES {ces_text} (n={n_ces:,})")


def support(con, echo: Echo) -> None:
    n, breach, first_response, resolution = _rows(con, """
        select n_tickets, breach_rate, first_response_breach_rate, resolution_breach_rate
        from marts.support_sla where dimension = 'all'""")[0]
    echo(f"Support: {n:,} tickets, SLA breach rate {_pct(breach)} "
         f"(first response {_pct(first_response)}, resolution {_pct(resolution)})")


def pain_point(con, echo: Echo) -> None:
    rows = _rows(con, """
        select pain_type, from_step, to_step, rate, n from marts.pain_points
        where pain_type = 'drop_off_transition' and rank = 1""")
    if rows:
        kind, from_step, to_step, rate, n = rows[0]
        echo(f"Top pain point: {from_step} -> {to_step}: {_pct(rate)} of {n:,} journeys stop there")


def markov_channel(con, echo: Echo) -> None:
    rows = _rows(con, """
        select dimension_value, share from marts.attribution
        where model = 'markov' and dimension = 'channel' order by share desc limit 1""")
    if rows:
        echo(f"Top channel by Markov removal credit: {rows[0][0]} ({_pct(rows[0][1])} of conversions)")


SECTIONS = [events, journeys_by_type, stage_drop_off, conversion, churn, clv, satisfaction, support, pain_point,
            markov_channel]


def print_summary(settings: Settings, echo: Echo = print) -> None:
    con = warehouse.reader(settings)
    try:
        for section in SECTIONS:
            section(con, echo)
    finally:
        con.close()
