"""Money: every amount converted, and no figure that adds currencies together.

Staging converts each touchpoint's revenue into reporting_currency (transforms/currency.py);
revenue it cannot convert (a currency the rate table does not list, or no currency at all) is
left NULL rather than summed as if it were the reporting currency, and `revenue_has_a_rate`
blocks the build, naming the currency and how many touchpoints carry it. Then every
revenue-bearing mart states the currency of its figures in its `currency` column, aggregated from
the rows each figure sums (`'EUR,USD'` when a figure mixed them): `one_currency_per_figure` fails
unless every row of the mart is in exactly the reporting currency.
"""

from __future__ import annotations

from journeys.quality.expect import not_null, true
from journeys.quality.gates import gate

REVENUE_MARTS = ("marts.journey_steps", "marts.journeys", "marts.conversion", "marts.customer_value",
                 "marts.customer_segments", "marts.path_variants", "marts.attribution")
"""Every mart with a revenue, AOV or CLV column; each carries `currency`."""

RATES = [
    gate("staging.stg_touchpoints", "revenue_has_a_rate",
         "Every touchpoint with revenue has a currency the rate table (currency_rates_file) converts into "
         "reporting_currency; the others would drop out of every revenue figure, so the build stops.",
         """select coalesce(original_currency, '(none)') as original_currency, count(*) as n_touchpoints,
                   sum(original_revenue) as original_revenue, bool_and(fx_rate is not null) as has_rate,
                   case
                       when original_currency is null then count(*) || ' touchpoint(s) with revenue have no currency'
                       else count(*) || ' touchpoint(s) with revenue in ' || original_currency || ' have no rate to '
                            || $reporting_currency || ' in ' || $currency_rates_file
                   end as problem
            from staging.stg_touchpoints
            where original_revenue is not null
            group by original_currency
            order by has_rate, n_touchpoints desc""",
         true("has_rate"), explain="problem"),
]


def _one_currency(table: str):
    return gate(table, "one_currency_per_figure",
                "Every revenue, AOV and CLV figure is in the reporting currency alone: none adds currencies together.",
                f"""select currency, count(*) as n_rows, coalesce(currency = $reporting_currency, false) as is_reporting_currency,
                           case
                               when currency like '%,%' then count(*) || ' row(s) of {table} add '
                                    || replace(currency, ',', ' and ') || ' together in one figure'
                               else count(*) || ' row(s) of {table} are in ' || coalesce(currency, 'no currency')
                                    || ', not the reporting currency ' || $reporting_currency
                           end as problem
                    from {table}
                    {"where revenue is not null" if table == "marts.journey_steps" else ""}
                    group by currency
                    order by is_reporting_currency, n_rows desc""",
                not_null("currency"), true("is_reporting_currency"), explain="problem")


GATES = [*RATES, *(_one_currency(table) for table in REVENUE_MARTS)]
