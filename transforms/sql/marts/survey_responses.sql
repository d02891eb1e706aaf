-- One row per survey response (a survey_response touchpoint with at least one score) on or before
-- as_of, with the touchpoint it rates. A response rates the ticket it references (the ticket's
-- ticket_opened touchpoint, else its first one), else the order it references (the order's
-- conversion touchpoint, else its first one), else the person's latest non-survey touchpoint in
-- the survey_attribution_window_days before the response. When none exists the rated touchpoint is
-- NULL: the response still counts overall, and marts.satisfaction shows it as '(unattributed)'.
-- The journey (and journey type) is the rated touchpoint's, else the response's own.
-- columns:
--   response_event_id: event_id of the survey_response touchpoint
--   person_id: the stitched person who answered; NULL when no identifier links one
--   responded_at: when the answer was given, UTC
--   response_month: first day of the month of responded_at
--   response_channel: channel the survey was answered on (email, sms, ...)
--   nps_score: would-recommend score 0-10; NULL when the survey did not ask
--   csat_score: satisfaction 1-5; NULL when the survey did not ask
--   ces_score: effort 1-7, lower is easier; NULL when the survey did not ask
--   is_promoter: nps_score 9-10
--   is_detractor: nps_score 0-6
--   is_csat_satisfied: csat_score 4-5
--   is_csat_low: csat_score 1-2
--   is_ces_high_effort: ces_score 5-7
--   referenced_ticket_id: ticket_id the response names
--   referenced_order_id: order_id the response names
--   attribution_method: ticket, order, recent_touchpoint (latest in the window) or none
--   rated_event_id: event_id of the rated touchpoint; NULL when attribution_method = none
--   rated_at: when the rated touchpoint happened
--   rated_channel: channel of the rated touchpoint
--   rated_event_type: event type of the rated touchpoint
--   rated_stage: stage of the rated touchpoint in the active stage model; NULL when unmapped
--   rated_stage_kind: main, detour, exit or unmapped
--   issue_category: issue category of the rated touchpoint (support tickets)
--   seconds_since_rated: seconds from the rated touchpoint to the response
--   journey_id: journey of the rated touchpoint, else of the response itself
--   journey_type: classification of that journey (linear, branching, cyclical, complex)
--   persona: persona of that journey, else of the response touchpoint
with touchpoints as (
    select
        event_id, person_id, occurred_at, channel, event_type, stage, stage_kind, is_conversion,
        ticket_id, order_id, nps_score, csat_score, ces_score, persona, issue_category
    from intermediate.int_touchpoints_stitched
    where occurred_at <= $as_of
),

journey_steps as (
    select event_id, journey_id from marts.journey_steps
),

journeys as (
    select journey_id, journey_type, persona from marts.journeys
),

responses as (
    select *
    from touchpoints
    where event_type = 'survey_response'
      and (nps_score is not null or csat_score is not null or ces_score is not null)
),

rateable as (
    select * from touchpoints where event_type <> 'survey_response'
),

ticket_openings as (
    select ticket_id, event_id
    from rateable
    where ticket_id is not null
    qualify row_number() over (
        partition by ticket_id order by event_type = 'ticket_opened' desc, occurred_at, event_id
    ) = 1
),

order_conversions as (
    select order_id, event_id
    from rateable
    where order_id is not null
    qualify row_number() over (partition by order_id order by is_conversion desc, occurred_at, event_id) = 1
),

latest_before as (
    select responses.event_id as response_event_id, rateable.event_id
    from responses
    inner join rateable
        on rateable.person_id = responses.person_id
        and rateable.occurred_at <= responses.occurred_at
        and rateable.occurred_at >= responses.occurred_at - $survey_attribution_window_days * interval 1 day
    qualify row_number() over (
        partition by responses.event_id order by rateable.occurred_at desc, rateable.event_id desc
    ) = 1
),

attributed as (
    select
        responses.*,
        case
            when ticket_openings.event_id is not null then 'ticket'
            when order_conversions.event_id is not null then 'order'
            when latest_before.event_id is not null then 'recent_touchpoint'
            else 'none'
        end as attribution_method,
        coalesce(ticket_openings.event_id, order_conversions.event_id, latest_before.event_id) as rated_event_id
    from responses
    left join ticket_openings on ticket_openings.ticket_id = responses.ticket_id
    left join order_conversions on order_conversions.order_id = responses.order_id
    left join latest_before on latest_before.response_event_id = responses.event_id
),

final as (
    select
        attributed.event_id as response_event_id,
        attributed.person_id,
        attributed.occurred_at as responded_at,
        date_trunc('month', attributed.occurred_at)::date as response_month,
        attributed.channel as response_channel,
        attributed.nps_score,
        attributed.csat_score,
        attributed.ces_score,
        attributed.nps_score >= 9 as is_promoter,
        attributed.nps_score <= 6 as is_detractor,
        attributed.csat_score >= 4 as is_csat_satisfied,
        attributed.csat_score <= 2 as is_csat_low,
        attributed.ces_score >= 5 as is_ces_high_effort,
        attributed.ticket_id as referenced_ticket_id,
        attributed.order_id as referenced_order_id,
        attributed.attribution_method,
        attributed.rated_event_id,
        rated.occurred_at as rated_at,
        rated.channel as rated_channel,
        rated.event_type as rated_event_type,
        rated.stage as rated_stage,
        rated.stage_kind as rated_stage_kind,
        rated.issue_category,
        epoch(attributed.occurred_at) - epoch(rated.occurred_at) as seconds_since_rated,
        coalesce(rated_step.journey_id, own_step.journey_id) as journey_id,
        journeys.journey_type,
        coalesce(journeys.persona, attributed.persona) as persona
    from attributed
    left join rateable as rated on rated.event_id = attributed.rated_event_id
    left join journey_steps as rated_step on rated_step.event_id = attributed.rated_event_id
    left join journey_steps as own_step on own_step.event_id = attributed.event_id
    left join journeys on journeys.journey_id = coalesce(rated_step.journey_id, own_step.journey_id)
)

select * from final
