-- One row per acquisition cohort (month of the first conversion), month since acquisition,
-- breakdown and breakdown value: the share of the cohort still retained (not churned) at the end of
-- that month, as of as_of. Month 0 is the acquisition month itself, measured at its last instant;
-- month m at the last instant of the m-th calendar month after it; the month holding as_of is
-- measured at as_of (is_partial_month) and later months are not there yet. Churn as in
-- marts.customer_churn_periods (an exit touchpoint with no later conversion, or inactive longer
-- than churn_inactive_days); at_risk customers still count as retained, and a customer who comes
-- back counts as retained again, so a curve can rise. Breakdowns: overall (value 'all'),
-- first_channel (first touch), journey_type (of the acquisition journey) and persona (b2b, b2c);
-- NULL values show as '(none)'. The cohort is the row itself, so there is no cohort breakdown.
-- columns:
--   cohort_month: first day of the acquisition month
--   months_since_acquisition: 0 for the acquisition month, 1 for the next calendar month, ...
--   measured_at: the instant retention is measured at: the last microsecond of the month, or as_of
--   is_partial_month: the month ends after as_of, so it is measured at as_of
--   breakdown: overall, first_channel, journey_type or persona
--   breakdown_value: value of the breakdown ('all' for overall, '(none)' for NULL)
--   n_customers: customers of the cohort in the slice
--   n_retained: of those, customers in a retained period at measured_at
--   retention_rate: n_retained / n_customers
with customers as (
    select person_id, cohort_month, first_channel, acquisition_journey_type, persona
    from marts.customer_lifecycle
),

retained_periods as (
    select person_id, started_at, ended_at
    from marts.customer_churn_periods
    where state = 'retained'
),

cohort_months as (
    select
        cohort_month,
        months_since_acquisition,
        least(
            cohort_month::timestamp + to_months(cast(months_since_acquisition + 1 as integer)) - interval 1 microsecond,
            $as_of::timestamp
        ) as measured_at,
        cohort_month::timestamp + to_months(cast(months_since_acquisition + 1 as integer))
            > $as_of::timestamp + interval 1 microsecond as is_partial_month
    from (
        select
            cohort_month,
            unnest(range(0, datediff('month', cohort_month, $as_of::timestamp) + 1)) as months_since_acquisition
        from (select distinct cohort_month from customers)
    )
),

customer_months as (
    select customers.*, cohort_months.months_since_acquisition, cohort_months.measured_at, cohort_months.is_partial_month
    from customers
    join cohort_months on cohort_months.cohort_month = customers.cohort_month
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
    select slice.breakdown, slice.breakdown_value, customer_months.*, retained_at_measure.is_retained
    from customer_months
    join retained_at_measure
        on retained_at_measure.person_id = customer_months.person_id
        and retained_at_measure.months_since_acquisition = customer_months.months_since_acquisition
    cross join unnest([
        {'breakdown': 'overall', 'breakdown_value': 'all'},
        {'breakdown': 'first_channel', 'breakdown_value': coalesce(first_channel, '(none)')},
        {'breakdown': 'journey_type', 'breakdown_value': coalesce(acquisition_journey_type, '(none)')},
        {'breakdown': 'persona', 'breakdown_value': coalesce(persona, '(none)')}
    ]) as slices(slice)
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
