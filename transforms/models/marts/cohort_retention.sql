with customers as (
    select person_id, cohort_month, first_channel, acquisition_journey_type, persona
    from {{ ref('customer_lifecycle') }}
),

retained_periods as (
    select person_id, started_at, ended_at
    from {{ ref('customer_churn_periods') }}
    where state = 'retained'
),

cohort_months as (
    select
        cohort_month,
        months_since_acquisition,
        least(
            cohort_month::timestamp + (months_since_acquisition + 1)::integer * interval 1 month - interval 1 microsecond,
            {{ as_of() }}::timestamp
        ) as measured_at,
        (
            cohort_month::timestamp + (months_since_acquisition + 1)::integer * interval 1 month
            > {{ as_of() }}::timestamp + interval 1 microsecond
        ) as is_partial_month
    from (
        select
            cohort_month,
            {{ unnest_series('0', calendar_months_between('cohort_month', as_of() ~ '::timestamp'), '1') }}
                as months_since_acquisition
        from (select distinct cohort_month from customers) as cohorts
    ) as cohort_month_offsets
),

customer_months as (
    select customers.*, cohort_months.months_since_acquisition, cohort_months.measured_at, cohort_months.is_partial_month
    from customers
    inner join cohort_months on cohort_months.cohort_month = customers.cohort_month
),

retained_at_measure as (
    select
        customer_months.person_id,
        customer_months.months_since_acquisition,
        count(retained_periods.person_id) > 0 as is_retained
    from customer_months
    left join retained_periods
        on retained_periods.person_id = customer_months.person_id
        and retained_periods.started_at <= customer_months.measured_at
        and (retained_periods.ended_at is null or retained_periods.ended_at > customer_months.measured_at)
    group by customer_months.person_id, customer_months.months_since_acquisition
),

sliced as (
    {%- set slicing = breakdown_slices(first_channel='first_channel', journey_type='acquisition_journey_type',
                                       persona='persona') %}
    select
        slices.breakdown, {{ slicing.breakdown_value }} as breakdown_value,
        customer_months.*, retained_at_measure.is_retained
    from customer_months
    inner join retained_at_measure
        on retained_at_measure.person_id = customer_months.person_id
        and retained_at_measure.months_since_acquisition = customer_months.months_since_acquisition
    {{ slicing.cross_join }}
),

final as (
    select
        cohort_month,
        months_since_acquisition,
        any_value(measured_at) as measured_at,
        any_value(is_partial_month) as is_partial_month,
        breakdown,
        breakdown_value,
        count(*) as n_customers,
        count(*) filter (where is_retained) as n_retained,
        count(*) filter (where is_retained) / count(*) as retention_rate
    from sliced
    group by cohort_month, months_since_acquisition, breakdown, breakdown_value
)

select * from final
