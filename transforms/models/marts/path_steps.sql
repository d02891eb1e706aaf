{#
  Incremental (transforms/incremental.py): an incremental build replaces the path steps of the
  persons whose touchpoints changed. path_variants, step_transitions and pain_points read their
  paths from here, so the collapse and its windows run over the changed persons only.
#}
{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail',
          pre_hook="{{ delete_changed_persons() }}") }}

with journey_steps as (
    select journey_id, person_id, step_number, occurred_at, channel, event_type
    from {{ ref('journey_steps') }}
    where {{ changed_persons_only('person_id') }}
),

collapsed as (
    {{ collapse_event_type_repeats('journey_steps') }}
),

final as (
    select
        journey_id,
        person_id,
        (row_number() over by_journey)::bigint as path_step_number,
        step_number,
        event_type,
        channel,
        occurred_at as entered_at,
        lag(event_type) over by_journey as previous_event_type,
        lag(occurred_at) over by_journey as previous_entered_at,
        lead(event_type) over by_journey as next_event_type,
        lead(occurred_at) over by_journey as next_entered_at
    from collapsed
    window by_journey as (partition by journey_id order by step_number)
)

select * from final
