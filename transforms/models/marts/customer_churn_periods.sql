{#
  The spells that as_of cannot change come from customer_spells (built for the changed persons
  only); the inactivity spell still open at as_of is added here from each customer's last activity.
#}
with customers as (
    select person_id, acquired_at, last_active_at
    from {{ ref('customer_facts') }}
),

open_inactivity_spells as (
    select
        person_id,
        last_active_at + cast({{ setting('churn_inactive_days') }} as integer) * interval 1 day as churned_at,
        null::timestamp as returned_at,
        'inactivity' as reason,
        null::string as exit_event_type
    from customers
    where {{ seconds_between('last_active_at', as_of()) }} > {{ setting('churn_inactive_days') }} * 86400
),

spells as (
    select person_id, churned_at, returned_at, reason, exit_event_type from {{ ref('customer_spells') }}
    union all
    select person_id, churned_at, returned_at, reason, exit_event_type from open_inactivity_spells
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
    from customers
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
        (row_number() over (partition by periods.person_id order by periods.started_at, periods.state desc))::bigint
            as period_number,
        periods.state,
        periods.started_at,
        periods.ended_at,
        periods.reason,
        periods.exit_event_type,
        customers.acquired_at,
        periods.ended_at is null as is_current
    from periods
    inner join customers on customers.person_id = periods.person_id
)

select * from final
