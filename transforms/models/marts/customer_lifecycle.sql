with journey_steps as (
    select journey_id, person_id, event_id, occurred_at, channel, event_type, stage_kind, is_conversion
    from {{ ref('journey_steps') }}
    where occurred_at <= {{ as_of() }}
),

journeys as (
    select journey_id, customer_id, persona, journey_type
    from {{ ref('journeys') }}
),

periods as (
    select * from {{ ref('customer_churn_periods') }}
),

-- Same activity rule as marts.customer_churn_periods.
person_facts as (
    select
        person_id,
        min(occurred_at) as first_seen_at,
        min_by(channel, (occurred_at, event_id)) filter (where channel is not null) as first_channel,
        min(occurred_at) filter (where is_conversion) as acquired_at,
        min_by(channel, (occurred_at, event_id)) filter (where is_conversion and channel is not null)
            as acquisition_channel,
        min_by(journey_id, (occurred_at, event_id)) filter (where is_conversion) as acquisition_journey_id,
        max(occurred_at) filter (where is_conversion) as last_conversion_at,
        count(*) filter (where is_conversion) as n_conversions,
        max(occurred_at) filter (
            where is_conversion
            or (stage_kind <> 'exit' and not coalesce(array_contains({{ setting('passive_event_types') }}, event_type), false))
        ) as last_active_at
    from journey_steps
    group by person_id
    having bool_or(is_conversion)
),

exits as (
    select
        journey_steps.person_id,
        max(journey_steps.occurred_at) as last_exit_at,
        max_by(journey_steps.event_type, (journey_steps.occurred_at, journey_steps.event_id)) as last_exit_event_type
    from journey_steps
    inner join person_facts on person_facts.person_id = journey_steps.person_id
    where journey_steps.stage_kind = 'exit' and journey_steps.occurred_at >= person_facts.acquired_at
    group by journey_steps.person_id
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
        person_facts.*,
        exits.last_exit_at,
        exits.last_exit_event_type,
        period_facts.current_state,
        period_facts.current_started_at,
        period_facts.current_reason,
        period_facts.current_exit_event_type,
        period_facts.n_churns,
        period_facts.n_returns,
        period_facts.last_returned_at,
        {{ seconds_between('person_facts.last_active_at', as_of()) }} / 86400 as days_inactive,
        {{ seconds_between('person_facts.acquired_at', as_of()) }} / 86400 as days_as_customer
    from person_facts
    left join exits on exits.person_id = person_facts.person_id
    left join period_facts on period_facts.person_id = person_facts.person_id
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
