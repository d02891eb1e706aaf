with identity_map as (
    select identifier_type, identifier_value, person_id, is_shared
    from {{ source('intermediate', 'int_identity_map') }}
),

touchpoints as (
    select person_id, event_id, occurred_at, persona
    from {{ ref('int_touchpoints_stitched') }}
    where person_id is not null
),

identifiers_per_person as (
    select
        person_id,
        min(identifier_value) filter (where identifier_type = 'customer_id') as customer_id,
        bool_and(is_shared) as is_shared_profile,
        count(*) filter (where identifier_type = 'customer_id') as n_customer_ids,
        count(*) filter (where identifier_type = 'anonymous_id') as n_anonymous_ids,
        count(*) filter (where identifier_type = 'email_hash') as n_email_hashes,
        count(*) filter (where identifier_type = 'phone_hash') as n_phone_hashes,
        count(*) filter (where identifier_type = 'loyalty_id') as n_loyalty_ids
    from identity_map
    group by person_id
),

activity_per_person as (
    select
        person_id,
        max_by(persona, (occurred_at, event_id)) filter (where persona is not null) as persona,
        min(occurred_at) as first_seen_at,
        max(occurred_at) as last_seen_at,
        count(*) as n_events
    from touchpoints
    group by person_id
),

final as (
    select
        identifiers_per_person.person_id,
        identifiers_per_person.customer_id,
        activity_per_person.persona,
        identifiers_per_person.is_shared_profile,
        activity_per_person.first_seen_at,
        activity_per_person.last_seen_at,
        coalesce(activity_per_person.n_events, 0) as n_events,
        identifiers_per_person.n_customer_ids,
        identifiers_per_person.n_anonymous_ids,
        identifiers_per_person.n_email_hashes,
        identifiers_per_person.n_phone_hashes,
        identifiers_per_person.n_loyalty_ids
    from identifiers_per_person
    left join activity_per_person on activity_per_person.person_id = identifiers_per_person.person_id
)

select * from final
