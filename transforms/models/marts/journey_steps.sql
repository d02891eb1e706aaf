{#
  Incremental (transforms/incremental.py): an incremental build replaces the rows of the persons
  whose touchpoints changed.
#}
{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail',
          pre_hook="{{ delete_changed_persons() }}") }}

with journey_steps as (
    select * from {{ source('intermediate', 'int_journey_steps') }}
    where {{ changed_persons_only('person_id') }}
),

touchpoints as (
    select
        event_id, session_id, order_id, currency, original_revenue, original_currency, fx_rate,
        campaign, source, medium, product_id, ticket_id,
        nps_score, csat_score, ces_score, issue_category
    from {{ ref('int_touchpoints_stitched') }}
    where person_id is not null and {{ changed_persons_only('person_id') }}
),

final as (
    select
        journey_steps.journey_id,
        journey_steps.person_id,
        journey_steps.event_id,
        journey_steps.step_number,
        journey_steps.occurred_at,
        journey_steps.channel,
        journey_steps.event_type,
        journey_steps.stage,
        journey_steps.stage_rank,
        journey_steps.stage_kind,
        journey_steps.is_conversion,
        journey_steps.cycle_number,
        journey_steps.seconds_since_previous_step,
        journey_steps.is_repeat,
        journey_steps.is_return,
        journey_steps.is_restart,
        journey_steps.is_detour,
        touchpoints.session_id,
        touchpoints.order_id,
        journey_steps.revenue,
        touchpoints.currency,
        touchpoints.original_revenue,
        touchpoints.original_currency,
        touchpoints.fx_rate,
        touchpoints.campaign,
        touchpoints.source,
        touchpoints.medium,
        touchpoints.product_id,
        touchpoints.ticket_id,
        touchpoints.nps_score,
        touchpoints.csat_score,
        touchpoints.ces_score,
        touchpoints.issue_category
    from journey_steps
    inner join touchpoints on touchpoints.event_id = journey_steps.event_id
)

select * from final
