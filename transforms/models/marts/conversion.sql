with journey_steps as (
    select
        journey_id, person_id, event_id, step_number, occurred_at, channel, is_conversion, order_id, revenue,
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
        min_by(occurred_at, step_number) as converted_at,
        min_by(channel, step_number) filter (where channel is not null) as channel,
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
            max_by(journey_steps.channel, journey_steps.step_number) filter (
                where journey_steps.channel is not null
                and (first_conversions.step_number is null or journey_steps.step_number < first_conversions.step_number)
            ),
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
    inner join outcomes on outcomes.journey_id = journeys.journey_id
    left join person_cohorts on person_cohorts.person_id = journeys.person_id
),

sliced as (
    {%- set slicing = breakdown_slices(first_channel='first_channel', last_touch_channel='last_touch_channel',
                                       journey_type='journey_type', cohort_month='cohort_month', persona='persona') %}
    select
        periods.period_grain,
        case periods.period_grain
            when 'day' then date_trunc('day', journey_outcomes.started_at)::date
            when 'week' then date_trunc('week', journey_outcomes.started_at)::date
            when 'month' then date_trunc('month', journey_outcomes.started_at)::date
        end as period_start,
        slices.breakdown,
        {{ slicing.breakdown_value }} as breakdown_value,
        journey_outcomes.*
    from journey_outcomes
    cross join (values ('all'), ('day'), ('week'), ('month')) as periods (period_grain)
    {{ slicing.cross_join }}
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
        percentile_cont(0.5) within group (order by time_to_convert_s) as median_time_to_convert_s,
        avg(time_to_convert_s) as mean_time_to_convert_s
    from sliced
    group by period_grain, period_start, breakdown, breakdown_value
)

select * from final
