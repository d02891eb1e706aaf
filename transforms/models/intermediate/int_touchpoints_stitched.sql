with touchpoints as (
    select
        event_id, occurred_at, channel, event_type,
        customer_id, anonymous_id, email_hash, phone_hash, loyalty_id, session_id, order_id,
        revenue, currency, original_revenue, original_currency, fx_rate,
        campaign, source, medium, product_id, ticket_id,
        nps_score, csat_score, ces_score, persona, issue_category
    from {{ ref('stg_touchpoints') }}
),

identity_map as (
    select identifier_type, identifier_value, person_id, is_shared
    from {{ source('intermediate', 'int_identity_map') }}
),

stage_model as (
    select event_type, stage, stage_rank, stage_kind, is_conversion
    from {{ source('intermediate', 'int_stage_model') }}
),

by_customer_id as (
    select * from identity_map
    where identifier_type = 'customer_id'
),

by_loyalty_id as (
    select * from identity_map
    where identifier_type = 'loyalty_id'
),

by_email_hash as (
    select * from identity_map
    where identifier_type = 'email_hash'
),

by_phone_hash as (
    select * from identity_map
    where identifier_type = 'phone_hash'
),

by_anonymous_id as (
    select * from identity_map
    where identifier_type = 'anonymous_id'
),

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
