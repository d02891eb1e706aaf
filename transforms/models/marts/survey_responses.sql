-- Every touchpoint is read, but only the few responses and the touchpoints they rate are kept
-- whole: the event-grain CTEs are inlined and each pick reads the narrow columns it needs, so
-- nothing event-sized is materialized (at 10M events that spilled past the memory limit).
with touchpoints {{ inline_cte() }} (
    select
        event_id, person_id, occurred_at, channel, event_type, stage, stage_kind, is_conversion,
        ticket_id, order_id, nps_score, csat_score, ces_score, persona, issue_category
    from {{ ref('int_touchpoints_stitched') }}
    where occurred_at <= {{ as_of() }}
),

journeys as (
    select journey_id, journey_type, persona from {{ ref('journeys') }}
),

responses as (
    select *
    from touchpoints
    where event_type = 'survey_response'
        and (nps_score is not null or csat_score is not null or ces_score is not null)
),

rateable {{ inline_cte() }} (
    select event_id, person_id, occurred_at, event_type, is_conversion, ticket_id, order_id
    from touchpoints
    where event_type <> 'survey_response'
),

-- Each pick below is a min_by/max_by over a sort key (one hash aggregate), not a row_number()
-- window over every touchpoint (a sort of them all).
ticket_openings as (
    select
        ticket_id,
        min_by(event_id, (event_type <> 'ticket_opened', occurred_at, event_id)) as event_id
    from rateable
    where ticket_id in (select responses.ticket_id from responses)
    group by ticket_id
),

order_conversions as (
    select
        order_id,
        min_by(event_id, (not is_conversion, occurred_at, event_id)) as event_id
    from rateable
    where order_id in (select responses.order_id from responses)
    group by order_id
),

latest_before as (
    select
        responses.event_id as response_event_id,
        max_by(rateable.event_id, (rateable.occurred_at, rateable.event_id)) as event_id
    from responses
    inner join rateable
        on rateable.person_id = responses.person_id
        and rateable.occurred_at <= responses.occurred_at
        and rateable.occurred_at >= responses.occurred_at - {{ setting('survey_attribution_window_days') }} * interval 1 day
    group by responses.event_id
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

attributed_ids as (
    select attributed.rated_event_id as event_id from attributed
    union
    select attributed.event_id from attributed
),

rated_touchpoints as (
    select event_id, occurred_at, channel, event_type, stage, stage_kind, issue_category
    from touchpoints
    where event_type <> 'survey_response' and event_id in (select attributed_ids.event_id from attributed_ids)
),

journey_steps as (
    select event_id, journey_id from {{ ref('journey_steps') }}
    where event_id in (select attributed_ids.event_id from attributed_ids)
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
        {{ seconds_between('rated.occurred_at', 'attributed.occurred_at') }} as seconds_since_rated,
        coalesce(rated_step.journey_id, own_step.journey_id) as journey_id,
        journeys.journey_type,
        coalesce(journeys.persona, attributed.persona) as persona
    from attributed
    left join rated_touchpoints as rated on rated.event_id = attributed.rated_event_id
    left join journey_steps as rated_step on rated_step.event_id = attributed.rated_event_id
    left join journey_steps as own_step on own_step.event_id = attributed.event_id
    left join journeys on journeys.journey_id = coalesce(rated_step.journey_id, own_step.journey_id)
)

select * from final
