with journey_steps as (
    select person_id, event_id, occurred_at, event_type, stage_kind, is_conversion
    from {{ ref('journey_steps') }}
    where occurred_at <= {{ as_of() }}
),

acquisitions as (
    select person_id, min(occurred_at) as acquired_at
    from journey_steps
    where is_conversion
    group by person_id
),

customer_steps as (
    select journey_steps.*
    from journey_steps
    inner join acquisitions on acquisitions.person_id = journey_steps.person_id
    where journey_steps.occurred_at >= acquisitions.acquired_at
),

activity as (
    select
        person_id,
        occurred_at,
        lead(occurred_at) over (partition by person_id order by occurred_at, event_id) as next_active_at
    from customer_steps
    where is_conversion
        or (stage_kind <> 'exit' and not coalesce(array_contains({{ setting('passive_event_types') }}, event_type), false))
),

inactivity_spells as (
    select
        person_id,
        occurred_at + cast({{ setting('churn_inactive_days') }} as integer) * interval 1 day as churned_at,
        next_active_at as returned_at,
        'inactivity' as reason,
        null::string as exit_event_type
    from activity
    where
        {{ seconds_between('occurred_at', 'coalesce(next_active_at, ' ~ as_of() ~ ')') }}
        > {{ setting('churn_inactive_days') }} * 86400
),

exits as (
    select person_id, event_id, occurred_at, event_type
    from customer_steps
    where stage_kind = 'exit'
),

conversions as (
    select person_id, occurred_at
    from customer_steps
    where is_conversion
),

-- The first conversion after each exit ends its spell (none: the spell is still open).
exit_spells as (
    select
        exits.person_id,
        exits.occurred_at as churned_at,
        min(conversions.occurred_at) as returned_at,
        'exit_event' as reason,
        exits.event_type as exit_event_type
    from exits
    left join conversions
        on conversions.person_id = exits.person_id
        and conversions.occurred_at > exits.occurred_at
    group by exits.event_id, exits.person_id, exits.occurred_at, exits.event_type
),

spells as (
    select person_id, churned_at, returned_at, reason, exit_event_type from inactivity_spells
    union all
    select person_id, churned_at, returned_at, reason, exit_event_type from exit_spells
),

-- Gaps and islands: a spell starting after every earlier spell has ended starts a new churned period.
spells_with_previous_end as (
    select
        *,
        max(coalesce(returned_at, {{ end_of_time() }})) over (
            partition by person_id order by churned_at, reason
            rows between unbounded preceding and 1 preceding
        ) as previous_end
    from spells
),

numbered_spells as (
    select
        *,
        sum(case when previous_end is null or churned_at > previous_end then 1 else 0 end) over (
            partition by person_id order by churned_at, reason
            rows between unbounded preceding and current row
        ) as churn_number
    from spells_with_previous_end
),

churned_periods as (
    select
        person_id,
        churn_number,
        min(churned_at) as started_at,
        case when bool_or(returned_at is null) then null else max(returned_at) end as ended_at,
        {{ first_ordered('reason', 'churned_at, reason') }} as reason,
        {{ first_ordered('exit_event_type', 'churned_at, reason') }} as exit_event_type
    from numbered_spells
    group by person_id, churn_number
),

retained_starts as (
    select person_id, 0 as churn_number, acquired_at as started_at, 'acquisition' as reason
    from acquisitions
    union all
    select person_id, churn_number, ended_at as started_at, 'return' as reason
    from churned_periods
    where ended_at is not null
),

periods as (
    select
        retained_starts.person_id,
        'retained' as state,
        retained_starts.started_at,
        next_churn.started_at as ended_at,
        retained_starts.reason,
        null::string as exit_event_type
    from retained_starts
    left join churned_periods as next_churn
        on next_churn.person_id = retained_starts.person_id
        and next_churn.churn_number = retained_starts.churn_number + 1
    union all
    select person_id, 'churned' as state, started_at, ended_at, reason, exit_event_type
    from churned_periods
),

final as (
    select
        periods.person_id,
        row_number() over (partition by periods.person_id order by periods.started_at, periods.state desc)
            as period_number,
        periods.state,
        periods.started_at,
        periods.ended_at,
        periods.reason,
        periods.exit_event_type,
        acquisitions.acquired_at,
        periods.ended_at is null as is_current
    from periods
    inner join acquisitions on acquisitions.person_id = periods.person_id
)

select * from final
