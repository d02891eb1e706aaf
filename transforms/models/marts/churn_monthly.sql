with customers as (
    select person_id, acquired_at, first_channel, acquisition_journey_type, cohort_month, persona
    from {{ ref('customer_lifecycle') }}
),

retained_periods as (
    select person_id, started_at, ended_at, reason
    from {{ ref('customer_churn_periods') }}
    where state = 'retained'
),

months as (
    select
        month_start::date as month_start,
        month_start as month_started_at,
        month_start + interval 1 month as next_month_started_at,
        least(month_start + interval 1 month - interval 1 microsecond, {{ as_of() }}::timestamp) as measured_at,
        month_start + interval 1 month > {{ as_of() }}::timestamp + interval 1 microsecond as is_partial_month
    from (
        select {{ unnest_series("date_trunc('month', min(acquired_at))",
                                "date_trunc('month', " ~ as_of() ~ "::timestamp)",
                                'interval 1 month') }} as month_start
        from customers
    )
),

sliced_customers as (
    {%- set slicing = breakdown_slices(first_channel='first_channel', journey_type='acquisition_journey_type',
                                       cohort_month='cohort_month', persona='persona') %}
    select slices.breakdown, {{ slicing.breakdown_value }} as breakdown_value, customers.person_id, customers.acquired_at
    from customers
    {{ slicing.cross_join }}
),

-- Every month from the slice's first acquisition on, so months without churn show zeros.
slice_months as (
    select slices.breakdown, slices.breakdown_value, months.*
    from (
        select breakdown, breakdown_value, min(acquired_at) as first_acquired_at
        from sliced_customers
        group by breakdown, breakdown_value
    ) as slices
    inner join months on months.next_month_started_at > slices.first_acquired_at
),

-- Each retained period, in each month it overlaps.
period_months as (
    select
        sliced_customers.breakdown,
        sliced_customers.breakdown_value,
        months.month_start,
        retained_periods.person_id,
        (
            retained_periods.started_at <= months.month_started_at
            and (retained_periods.ended_at is null or retained_periods.ended_at > months.month_started_at)
        ) as is_at_start,
        retained_periods.ended_at < months.next_month_started_at as ends_in_month,
        retained_periods.started_at >= months.month_started_at and retained_periods.reason = 'acquisition' as is_acquisition,
        retained_periods.started_at >= months.month_started_at and retained_periods.reason = 'return' as is_return,
        (
            retained_periods.started_at <= months.measured_at
            and (retained_periods.ended_at is null or retained_periods.ended_at > months.measured_at)
        ) as is_at_end
    from retained_periods
    inner join sliced_customers on sliced_customers.person_id = retained_periods.person_id
    inner join months
        on months.next_month_started_at > retained_periods.started_at
        and (retained_periods.ended_at is null or months.month_started_at <= retained_periods.ended_at)
),

counted as (
    select
        breakdown,
        breakdown_value,
        month_start,
        count(distinct person_id) filter (where is_at_start) as n_customers_at_start,
        count(distinct person_id) filter (where is_at_start and ends_in_month) as n_churned,
        count(distinct person_id) filter (where is_acquisition) as n_acquired,
        count(distinct person_id) filter (where is_return) as n_resurrected,
        count(*) filter (where ends_in_month) as n_churn_events,
        count(distinct person_id) filter (where is_at_end) as n_customers_at_end
    from period_months
    group by breakdown, breakdown_value, month_start
),

final as (
    select
        slice_months.month_start,
        slice_months.breakdown,
        slice_months.breakdown_value,
        slice_months.is_partial_month,
        coalesce(counted.n_customers_at_start, 0) as n_customers_at_start,
        coalesce(counted.n_churned, 0) as n_churned,
        counted.n_churned / nullif(counted.n_customers_at_start, 0) as churn_rate,
        1 - counted.n_churned / nullif(counted.n_customers_at_start, 0) as retention_rate,
        coalesce(counted.n_acquired, 0) as n_acquired,
        coalesce(counted.n_resurrected, 0) as n_resurrected,
        coalesce(counted.n_churn_events, 0) as n_churn_events,
        coalesce(counted.n_customers_at_end, 0) as n_customers_at_end
    from slice_months
    left join counted
        on counted.breakdown = slice_months.breakdown
        and counted.breakdown_value = slice_months.breakdown_value
        and counted.month_start = slice_months.month_start
)

select * from final
