-- One row per touchpoint of a person, cut into journeys and numbered in journey order. A journey
-- is a person's touchpoints with no gap longer than journey_gap_days; its id is the md5 of the
-- person and the start time, so it is the same on every rebuild of the same data. Touchpoints are
-- ordered by occurred_at (event_id breaks ties), never by arrival, so late events take their
-- place. is_repeat marks a touchpoint with the same event type and channel as the one before it:
-- classification collapses those into one step.
-- columns:
--   journey_id: md5 of person_id and journey_started_at
--   person_id: the stitched person
--   event_id: the touchpoint
--   step_number: 1..n in journey order (occurred_at, then event_id)
--   journey_started_at: occurred_at of the journey's first touchpoint
--   occurred_at: when the contact happened, UTC
--   channel: web, email, call_center, store, mobile_app, social, chat or sms
--   event_type: what happened
--   stage: stage of the event type in the active stage model; NULL when unmapped
--   stage_rank: position of the stage in the model, 1 = first; NULL when unmapped
--   stage_kind: main, detour, exit or unmapped
--   is_conversion: the event type is a conversion of the model
--   is_repeat: same event type and channel as the previous touchpoint of the journey
--   seconds_since_previous_step: seconds since the previous touchpoint of the journey; NULL for the first
--   session_id: web or app session
--   order_id: order the event belongs to
--   revenue: order value in currency
--   currency: ISO 4217 code
--   campaign: marketing campaign
--   source: traffic source
--   medium: traffic medium
--   product_id: product the event is about
--   ticket_id: support ticket the event belongs to
--   nps_score: would-recommend score 0-10
--   csat_score: satisfaction score 1-5
--   ces_score: customer effort score 1-7, lower is easier
--   issue_category: what a support contact was about
with touchpoints as (
    select
        event_id, person_id, occurred_at, channel, event_type, stage, stage_rank, stage_kind, is_conversion,
        session_id, order_id, revenue, currency, campaign, source, medium, product_id, ticket_id,
        nps_score, csat_score, ces_score, issue_category
    from intermediate.int_touchpoints_stitched
    where person_id is not null
),

with_previous as (
    select
        *,
        row_number() over by_person as person_step,
        lag(occurred_at) over by_person as previous_occurred_at,
        lag(event_type) over by_person as previous_event_type,
        lag(channel) over by_person as previous_channel
    from touchpoints
    window by_person as (partition by person_id order by occurred_at, event_id)
),

flagged as (
    select
        *,
        previous_occurred_at is null
            or epoch(occurred_at) - epoch(previous_occurred_at) > $journey_gap_days * 86400 as is_journey_start
    from with_previous
),

with_journey_start as (
    select
        *,
        max(case when is_journey_start then occurred_at end) over running as journey_started_at,
        max(case when is_journey_start then person_step end) over running as journey_first_person_step
    from flagged
    window running as (partition by person_id order by person_step rows between unbounded preceding and current row)
),

final as (
    select
        md5(person_id || '|' || strftime(journey_started_at, '%Y-%m-%dT%H:%M:%S.%f')) as journey_id,
        person_id,
        event_id,
        person_step - journey_first_person_step + 1 as step_number,
        journey_started_at,
        occurred_at,
        channel,
        event_type,
        stage,
        stage_rank,
        stage_kind,
        is_conversion,
        not is_journey_start and event_type = previous_event_type and channel = previous_channel as is_repeat,
        case when not is_journey_start then epoch(occurred_at) - epoch(previous_occurred_at) end
            as seconds_since_previous_step,
        session_id,
        order_id,
        revenue,
        currency,
        campaign,
        source,
        medium,
        product_id,
        ticket_id,
        nps_score,
        csat_score,
        ces_score,
        issue_category
    from with_journey_start
)

select * from final
