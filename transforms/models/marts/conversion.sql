with journey_steps as (
    select journey_id, person_id, event_id, step_number, occurred_at, channel, is_conversion, order_id, revenue,
           currency
    from {{ ref('journey_steps') }}
    where occurred_at <= {{ as_of() }}
),

journeys as (
    select journey_id, person_id, started_at, first_channel, journey_type, persona
    from {{ ref('journeys') }}
    where started_at <= {{ as_of() }}
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
        {{ join_distinct_sorted('currency', "','") }} as currency
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
        {{ seconds_between('journeys.started_at', 'outcomes.converted_at') }} as time_to_convert_s,
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
    {{ breakdown_slices(first_channel='first_channel', last_touch_channel='last_touch_channel',
                        journey_type='journey_type', cohort_month='cohort_month', persona='persona') }}
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
        coalesce({{ join_distinct_sorted('currency', "','") }}, {{ setting('reporting_currency') }}) as currency,
        quantile_cont(time_to_convert_s, 0.5) as median_time_to_convert_s,
        avg(time_to_convert_s) as mean_time_to_convert_s
    from sliced
    group by period_grain, period_start, breakdown, breakdown_value
)

select * from final
