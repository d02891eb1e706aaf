with journeys as (
    select journey_id, customer_id, persona, journey_type
    from {{ ref('journeys') }}
),

periods as (
    select * from {{ ref('customer_churn_periods') }}
),

customer_facts as (
    select * from {{ ref('customer_facts') }}
),

period_facts as (
    select
        person_id,
        any_value(state) filter (where is_current) as current_state,
        any_value(started_at) filter (where is_current) as current_started_at,
        any_value(reason) filter (where is_current) as current_reason,
        any_value(exit_event_type) filter (where is_current) as current_exit_event_type,
        count(*) filter (where state = 'churned') as n_churns,
        count(*) filter (where state = 'retained' and reason = 'return') as n_returns,
        max(started_at) filter (where state = 'retained' and reason = 'return') as last_returned_at
    from periods
    group by person_id
),

customers as (
    select
        customer_facts.*,
        period_facts.current_state,
        period_facts.current_started_at,
        period_facts.current_reason,
        period_facts.current_exit_event_type,
        period_facts.n_churns,
        period_facts.n_returns,
        period_facts.last_returned_at,
        {{ seconds_between('customer_facts.last_active_at', as_of()) }} / 86400 as days_inactive,
        {{ seconds_between('customer_facts.acquired_at', as_of()) }} / 86400 as days_as_customer
    from customer_facts
    left join period_facts on period_facts.person_id = customer_facts.person_id
),

classified as (
    select
        *,
        case
            when current_state = 'churned'
                and {{ seconds_between('current_started_at', as_of()) }} > {{ setting('dormant_after_churn_days') }} * 86400
                then 'churned_over_dormant_after_churn_days_ago'
            when current_state = 'churned' and current_reason = 'exit_event' then 'exit_without_later_conversion'
            when current_state = 'churned' then 'inactive_over_churn_inactive_days'
            when {{ seconds_between('acquired_at', as_of()) }} < {{ setting('new_customer_days') }} * 86400
                then 'acquired_within_new_customer_days'
            when current_reason = 'return'
                and {{ seconds_between('current_started_at', as_of()) }} < {{ setting('new_customer_days') }} * 86400
                then 'returned_within_new_customer_days'
            when days_inactive > {{ setting('at_risk_inactive_days') }} then 'inactive_over_at_risk_inactive_days'
            else 'active_within_at_risk_inactive_days'
        end as status_reason
    from customers
),

final as (
    select
        classified.person_id,
        journeys.customer_id,
        journeys.persona,
        case classified.status_reason
            when 'churned_over_dormant_after_churn_days_ago' then 'dormant'
            when 'exit_without_later_conversion' then 'churned'
            when 'inactive_over_churn_inactive_days' then 'churned'
            when 'acquired_within_new_customer_days' then 'new'
            when 'returned_within_new_customer_days' then 'resurrected'
            when 'inactive_over_at_risk_inactive_days' then 'at_risk'
            else 'active'
        end as status,
        classified.status_reason,
        classified.current_state = 'churned' as is_churned,
        case when classified.current_state = 'churned' then classified.current_started_at end as churned_at,
        case when classified.current_state = 'churned' then classified.current_reason end as churn_reason,
        case when classified.current_state = 'churned' then classified.current_exit_event_type end
            as churn_exit_event_type,
        classified.acquired_at,
        date_trunc('month', classified.acquired_at)::date as cohort_month,
        classified.acquisition_channel,
        classified.acquisition_journey_id,
        journeys.journey_type as acquisition_journey_type,
        classified.first_channel,
        classified.first_seen_at,
        classified.last_active_at,
        classified.days_inactive,
        classified.last_conversion_at,
        classified.n_conversions,
        classified.last_exit_at,
        classified.last_exit_event_type,
        classified.n_churns,
        classified.n_returns,
        classified.last_returned_at,
        classified.days_as_customer,
        {{ as_of() }}::timestamp as as_of
    from classified
    left join journeys on journeys.journey_id = classified.acquisition_journey_id
)

select * from final
