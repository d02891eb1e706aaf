{#
  Incremental (transforms/incremental.py): an incremental build replaces the rows of the persons
  whose touchpoints changed. What customer_lifecycle and customer_churn_periods need of every
  touchpoint, read here for the changed persons only, so neither reads journey steps.
#}
{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail',
          pre_hook="{{ delete_changed_persons() }}") }}

with journey_steps as (
    select journey_id, person_id, event_id, occurred_at, channel, event_type, stage_kind, is_conversion
    from {{ ref('journey_steps') }}
    where {{ changed_persons_only('person_id') }}
),

steps as (
    select *, {{ is_activity() }} as is_activity
    from journey_steps
),

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
        max(occurred_at) filter (where is_activity) as last_active_at
    from steps
    group by person_id
    having bool_or(is_conversion)
),

exits as (
    select
        steps.person_id,
        max(steps.occurred_at) as last_exit_at,
        max_by(steps.event_type, (steps.occurred_at, steps.event_id)) as last_exit_event_type
    from steps
    inner join person_facts on person_facts.person_id = steps.person_id
    where steps.stage_kind = 'exit' and steps.occurred_at >= person_facts.acquired_at
    group by steps.person_id
),

final as (
    select
        person_facts.*,
        exits.last_exit_at,
        exits.last_exit_event_type
    from person_facts
    left join exits on exits.person_id = person_facts.person_id
)

select * from final
