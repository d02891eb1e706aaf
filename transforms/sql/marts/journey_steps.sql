-- One row per touchpoint of a journey, in journey order: what path, attribution and satisfaction
-- analyses read. Repeats (same event type and channel as the step before) are kept as rows and
-- flagged; the journey's shape is classified on the collapsed steps. revenue is in the reporting
-- currency (converted once, in staging); original_revenue, original_currency and fx_rate are what
-- arrived and the rate used, for audit (revenue = original_revenue x fx_rate).
-- columns:
--   journey_id: the journey (see marts.journeys)
--   person_id: the stitched person
--   event_id: the touchpoint
--   step_number: 1..n in journey order (occurred_at, then event_id)
--   occurred_at: when the contact happened, UTC
--   channel: web, email, call_center, store, mobile_app, social, chat or sms
--   event_type: what happened
--   stage: stage of the event type in the active stage model; NULL when unmapped
--   stage_rank: position of the stage in the model, 1 = first; NULL when unmapped
--   stage_kind: main, detour, exit or unmapped
--   is_conversion: the event type is a conversion of the model
--   cycle_number: 1 + restarts so far: which cycle of the journey the touchpoint falls in
--   seconds_since_previous_step: seconds since the previous touchpoint of the journey; NULL for the first
--   is_repeat: same event type and channel as the previous touchpoint: collapsed into it for classification
--   is_return: a step back to a lower stage before the cycle converted
--   is_restart: a step back to a lower stage after the cycle converted: a new cycle begins here
--   is_detour: a detour-kind step, or a non-consecutive revisit of an event type seen earlier in the cycle
--   session_id: web or app session
--   order_id: order the event belongs to
--   revenue: order value in the reporting currency (currency); NULL without revenue
--   currency: the reporting currency (settings reporting_currency) of revenue; NULL when revenue is NULL
--   original_revenue: order value as received, in original_currency
--   original_currency: ISO 4217 code of the order as received
--   fx_rate: units of the reporting currency per unit of original_currency (settings currency_rates_file)
--   campaign: marketing campaign
--   source: traffic source
--   medium: traffic medium
--   product_id: product the event is about
--   ticket_id: support ticket the event belongs to
--   nps_score: would-recommend score 0-10
--   csat_score: satisfaction score 1-5
--   ces_score: customer effort score 1-7, lower is easier
--   issue_category: what a support contact was about
with journey_steps as (
    select * from intermediate.int_journey_steps
),

touchpoints as (
    select
        event_id, session_id, order_id, currency, original_revenue, original_currency, fx_rate,
        campaign, source, medium, product_id, ticket_id,
        nps_score, csat_score, ces_score, issue_category
    from intermediate.int_touchpoints_stitched
    where person_id is not null
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
    join touchpoints on touchpoints.event_id = journey_steps.event_id
)

select * from final
