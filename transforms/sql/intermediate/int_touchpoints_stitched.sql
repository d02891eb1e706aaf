-- One row per staged touchpoint, with the person it belongs to and its stage in the active stage
-- model. A touchpoint's identifiers normally all point to one person; when a refused merge left
-- them on different persons, the most durable identifier decides (customer_id, loyalty_id,
-- email_hash, phone_hash, anonymous_id), shared identifiers only when nothing else identifies it.
-- Anonymous browsing before a login therefore lands on the person who logged in. Touchpoints whose
-- every identifier is a placeholder keep person_id NULL: they stay here to be counted, journeys
-- leave them out. Event types the stage model does not list have stage_kind 'unmapped'. The
-- touchpoint's own identifiers stay in staging (marts.identity_map tells which belong to whom).
-- columns:
--   event_id: unique per event
--   person_id: the stitched person (see intermediate.int_identity_map); NULL when every identifier is a placeholder
--   occurred_at: when the contact happened, UTC
--   channel: web, email, call_center, store, mobile_app, social, chat or sms
--   event_type: what happened (lower-case)
--   stage: stage of the event type in the active stage model; NULL when unmapped
--   stage_rank: position of that stage in the model, 1 = first; NULL when unmapped
--   stage_kind: main, detour, exit, or unmapped (the model does not list the event type)
--   is_conversion: the event type is one of the model's conversions
--   session_id: web or app session
--   order_id: order the event belongs to
--   revenue: order value in the reporting currency (converted in staging); NULL without revenue or without a rate
--   currency: the reporting currency of revenue; NULL when revenue is NULL
--   original_revenue: order value as received, in original_currency
--   original_currency: ISO 4217 code as received
--   fx_rate: units of the reporting currency per unit of original_currency
--   campaign: marketing campaign
--   source: traffic source
--   medium: traffic medium
--   product_id: product the event is about
--   ticket_id: support ticket the event belongs to
--   nps_score: would-recommend score 0-10
--   csat_score: satisfaction score 1-5
--   ces_score: customer effort score 1-7, lower is easier
--   persona: persona property of the touchpoint
--   issue_category: issue category property of the touchpoint
with touchpoints as (
    select * exclude (n_deliveries, source_topic, source_partition, source_offset, ingested_at, load_id)
    from staging.stg_touchpoints
),

identity_map as (
    select identifier_type, identifier_value, person_id, is_shared
    from intermediate.int_identity_map
),

stage_model as (
    select event_type, stage, stage_rank, stage_kind, is_conversion
    from intermediate.int_stage_model
),

by_customer_id as (select * from identity_map where identifier_type = 'customer_id'),
by_loyalty_id as (select * from identity_map where identifier_type = 'loyalty_id'),
by_email_hash as (select * from identity_map where identifier_type = 'email_hash'),
by_phone_hash as (select * from identity_map where identifier_type = 'phone_hash'),
by_anonymous_id as (select * from identity_map where identifier_type = 'anonymous_id'),

with_person as (
    select
        touchpoints.*,
        coalesce(
            case when not by_customer_id.is_shared then by_customer_id.person_id end,
            case when not by_loyalty_id.is_shared then by_loyalty_id.person_id end,
            case when not by_email_hash.is_shared then by_email_hash.person_id end,
            case when not by_phone_hash.is_shared then by_phone_hash.person_id end,
            case when not by_anonymous_id.is_shared then by_anonymous_id.person_id end,
            by_customer_id.person_id,
            by_loyalty_id.person_id,
            by_email_hash.person_id,
            by_phone_hash.person_id,
            by_anonymous_id.person_id
        ) as person_id
    from touchpoints
    left join by_customer_id on by_customer_id.identifier_value = touchpoints.customer_id
    left join by_loyalty_id on by_loyalty_id.identifier_value = touchpoints.loyalty_id
    left join by_email_hash on by_email_hash.identifier_value = touchpoints.email_hash
    left join by_phone_hash on by_phone_hash.identifier_value = touchpoints.phone_hash
    left join by_anonymous_id on by_anonymous_id.identifier_value = touchpoints.anonymous_id
),

final as (
    select
        with_person.event_id,
        with_person.person_id,
        with_person.occurred_at,
        with_person.channel,
        with_person.event_type,
        stage_model.stage,
        stage_model.stage_rank,
        coalesce(stage_model.stage_kind, 'unmapped') as stage_kind,
        coalesce(stage_model.is_conversion, false) as is_conversion,
        with_person.session_id,
        with_person.order_id,
        with_person.revenue,
        with_person.currency,
        with_person.original_revenue,
        with_person.original_currency,
        with_person.fx_rate,
        with_person.campaign,
        with_person.source,
        with_person.medium,
        with_person.product_id,
        with_person.ticket_id,
        with_person.nps_score,
        with_person.csat_score,
        with_person.ces_score,
        with_person.persona,
        with_person.issue_category
    from with_person
    left join stage_model on stage_model.event_type = with_person.event_type
)

select * from final
