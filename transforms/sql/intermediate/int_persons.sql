-- One row per person: the identifiers stitched into it and when it was active. A person has at
-- most one customer_id (two are never merged). Shared-identifier profiles (a device or phone seen
-- with too many customers, is_shared_profile) are persons too, so their touchpoints stay countable,
-- but analyses of customers usually leave them out. persona is the latest one the touchpoints carry.
-- columns:
--   person_id: 'p_' + md5 of the anchor identifier: the customer_id if any, else the smallest identifier
--   customer_id: the person's known customer id; NULL for anonymous persons
--   persona: persona property of the person's latest touchpoint that has one
--   is_shared_profile: the person is one shared identifier (over its person limit), not a customer
--   first_seen_at: earliest touchpoint of the person
--   last_seen_at: latest touchpoint of the person
--   n_events: touchpoints attributed to the person
--   n_customer_ids: customer_ids stitched into the person (0 or 1)
--   n_anonymous_ids: device or cookie ids stitched into the person
--   n_email_hashes: e-mail hashes stitched into the person
--   n_phone_hashes: phone hashes stitched into the person
--   n_loyalty_ids: loyalty card numbers stitched into the person
with identity_map as (
    select identifier_type, identifier_value, person_id, is_shared
    from intermediate.int_identity_map
),

touchpoints as (
    select person_id, event_id, occurred_at, persona
    from intermediate.int_touchpoints_stitched
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
        arg_max(persona, (occurred_at, event_id)) filter (where persona is not null) as persona,
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
