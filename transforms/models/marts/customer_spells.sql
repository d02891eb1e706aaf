{#
  Incremental (transforms/incremental.py): an incremental build replaces the spells of the persons
  whose touchpoints changed. Only spells that as_of cannot change are here; the one still open at
  as_of (inactive since the last activity) is added by customer_churn_periods from
  customer_facts.last_active_at, so a later as_of rebuilds nothing here.
#}
{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail',
          pre_hook="{{ delete_changed_persons() }}") }}

with journey_steps as (
    select person_id, event_id, occurred_at, event_type, stage_kind, is_conversion
    from {{ ref('journey_steps') }}
    where {{ changed_persons_only('person_id') }}
),

customers as (
    select person_id, acquired_at
    from {{ ref('customer_facts') }}
    where {{ changed_persons_only('person_id') }}
),

customer_steps as (
    select journey_steps.*
    from journey_steps
    inner join customers on customers.person_id = journey_steps.person_id
    where journey_steps.occurred_at >= customers.acquired_at
),

activity as (
    select
        person_id,
        occurred_at,
        lead(occurred_at) over (partition by person_id order by occurred_at, event_id) as next_active_at
    from customer_steps
    where {{ is_activity() }}
),

inactivity_spells as (
    select
        person_id,
        occurred_at + cast({{ setting('churn_inactive_days') }} as integer) * interval 1 day as churned_at,
        next_active_at as returned_at,
        'inactivity' as reason,
        null::string as exit_event_type
    from activity
    where next_active_at is not null
        and {{ seconds_between('occurred_at', 'next_active_at') }} > {{ setting('churn_inactive_days') }} * 86400
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

final as (
    select person_id, churned_at, returned_at, reason, exit_event_type from inactivity_spells
    union all
    select person_id, churned_at, returned_at, reason, exit_event_type from exit_spells
)

select * from final
