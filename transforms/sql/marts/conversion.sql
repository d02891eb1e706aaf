-- One row per period grain, period, breakdown and breakdown value: journey conversion rate,
-- revenue, average order value and time to convert, as of as_of. A journey counts in the period it
-- started in (day, ISO week starting Monday, month; 'all' is every journey, period_start NULL), so a
-- period's rate is the share of the journeys started then that converted by as_of: recent periods
-- are still maturing. A journey converts at its first conversion touchpoint (purchase,
-- subscription_start, subscription_renewed in the built-in models) on or before as_of; revenue and
-- orders are those of all its conversion touchpoints on or before as_of (an order is a distinct
-- order_id, else the touchpoint), so a cyclical journey's renewals add revenue and orders but it
-- converts once. Touchpoints after as_of are ignored. Breakdowns: overall (value 'all'),
-- first_channel (first touch: channel of the journey's first touchpoint), last_touch_channel
-- (channel of the last touchpoint before the first conversion, the conversion's own when it came
-- first; for a journey that did not convert, its last touchpoint), journey_type, cohort_month
-- (month of the person's first touchpoint, 'YYYY-MM') and persona (b2b, b2c), journey_type and
-- persona as marts.journeys has them; NULL values show as '(none)'. Money is in the reporting
-- currency (marts.journey_steps converts every order once, in staging).
-- columns:
--   period_grain: all, day, week or month
--   period_start: first day of the period (a Monday for weeks); NULL for period_grain all
--   breakdown: overall, first_channel, last_touch_channel, journey_type, cohort_month or persona
--   breakdown_value: value of the breakdown ('all' for overall, 'YYYY-MM' for cohort_month, '(none)' for NULL)
--   n_journeys: journeys of the slice started in the period (on or before as_of)
--   n_converted_journeys: those with a conversion on or before as_of
--   conversion_rate: n_converted_journeys / n_journeys
--   n_orders: orders of those journeys (distinct order_id, else conversion touchpoint)
--   revenue: sum of the revenue of their conversion touchpoints, in the reporting currency
--   average_order_value: revenue / n_orders
--   revenue_per_journey: revenue / n_journeys
--   currency: currency of the money columns: the reporting currency (settings reporting_currency); a list like 'EUR,USD' would be a figure mixing currencies, which the ERROR gate one_currency_per_figure refuses
--   median_time_to_convert_s: median seconds from journey start to first conversion, over converted journeys (interpolated)
--   mean_time_to_convert_s: mean of the same seconds
with journey_steps as (
    select journey_id, person_id, event_id, step_number, occurred_at, channel, is_conversion, order_id, revenue,
           currency
    from marts.journey_steps
    where occurred_at <= $as_of
),

journeys as (
    select journey_id, person_id, started_at, first_channel, journey_type, persona
    from marts.journeys
    where started_at <= $as_of
),

person_cohorts as (
    select person_id, date_trunc('month', min(occurred_at)) as cohort_month
    from journey_steps
    group by person_id
),

first_conversions as (
    select
        journey_id,
        min(step_number) as step_number,
        arg_min(occurred_at, step_number) as converted_at,
        arg_min(channel, step_number) as channel,
        count(distinct coalesce(order_id, event_id)) as n_orders,
        coalesce(sum(revenue), 0) as revenue,
        string_agg(distinct currency, ',' order by currency) as currency
    from journey_steps
    where is_conversion
    group by journey_id
),

outcomes as (
    select
        journey_steps.journey_id,
        any_value(first_conversions.converted_at) as converted_at,
        coalesce(
            arg_max(journey_steps.channel, journey_steps.step_number)
                filter (where first_conversions.step_number is null or journey_steps.step_number < first_conversions.step_number),
            any_value(first_conversions.channel)
        ) as last_touch_channel,
        coalesce(any_value(first_conversions.n_orders), 0) as n_orders,
        coalesce(any_value(first_conversions.revenue), 0) as revenue,
        any_value(first_conversions.currency) as currency
    from journey_steps
    left join first_conversions on first_conversions.journey_id = journey_steps.journey_id
    group by journey_steps.journey_id
),

journey_outcomes as (
    select
        journeys.*,
        person_cohorts.cohort_month,
        outcomes.converted_at,
        outcomes.converted_at is not null as is_converted,
        epoch(outcomes.converted_at) - epoch(journeys.started_at) as time_to_convert_s,
        outcomes.last_touch_channel,
        outcomes.n_orders,
        outcomes.revenue,
        outcomes.currency
    from journeys
    join outcomes on outcomes.journey_id = journeys.journey_id
    left join person_cohorts on person_cohorts.person_id = journeys.person_id
),

sliced as (
    select period.period_grain, period.period_start, slice.breakdown, slice.breakdown_value, journey_outcomes.*
    from journey_outcomes
    cross join unnest([
        {'period_grain': 'all', 'period_start': null::date},
        {'period_grain': 'day', 'period_start': date_trunc('day', started_at)::date},
        {'period_grain': 'week', 'period_start': date_trunc('week', started_at)::date},
        {'period_grain': 'month', 'period_start': date_trunc('month', started_at)::date}
    ]) as periods(period)
    cross join unnest([
        {'breakdown': 'overall', 'breakdown_value': 'all'},
        {'breakdown': 'first_channel', 'breakdown_value': coalesce(first_channel, '(none)')},
        {'breakdown': 'last_touch_channel', 'breakdown_value': coalesce(last_touch_channel, '(none)')},
        {'breakdown': 'journey_type', 'breakdown_value': coalesce(journey_type, '(none)')},
        {'breakdown': 'cohort_month', 'breakdown_value': coalesce(strftime(cohort_month, '%Y-%m'), '(none)')},
        {'breakdown': 'persona', 'breakdown_value': coalesce(persona, '(none)')}
    ]) as slices(slice)
),

final as (
    select
        period_grain,
        period_start,
        breakdown,
        breakdown_value,
        count(*) as n_journeys,
        count(*) filter (where is_converted) as n_converted_journeys,
        count(*) filter (where is_converted) / count(*) as conversion_rate,
        sum(n_orders)::bigint as n_orders,
        sum(revenue) as revenue,
        sum(revenue) / nullif(sum(n_orders), 0) as average_order_value,
        sum(revenue) / count(*) as revenue_per_journey,
        coalesce(string_agg(distinct currency, ',' order by currency), $reporting_currency) as currency,
        quantile_cont(time_to_convert_s, 0.5) as median_time_to_convert_s,
        avg(time_to_convert_s) as mean_time_to_convert_s
    from sliced
    group by period_grain, period_start, breakdown, breakdown_value
)

select * from final
