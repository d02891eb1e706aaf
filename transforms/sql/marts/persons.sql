-- One row per person stitched from identifiers: who the journeys belong to. A person has at most
-- one customer_id; anonymous persons have none. Shared-identifier profiles (is_shared_profile)
-- stand for a device or number several customers used, not for one customer.
-- columns:
--   person_id: 'p_' + md5 of the anchor identifier: the customer_id if any, else the smallest identifier
--   customer_id: the person's known customer id; NULL for anonymous persons
--   persona: persona property of the person's latest touchpoint that has one
--   is_shared_profile: the person is one shared identifier, not a customer
--   first_seen_at: earliest touchpoint of the person
--   last_seen_at: latest touchpoint of the person
--   n_events: touchpoints attributed to the person
--   n_customer_ids: customer_ids stitched into the person (0 or 1)
--   n_anonymous_ids: device or cookie ids stitched into the person
--   n_email_hashes: e-mail hashes stitched into the person
--   n_phone_hashes: phone hashes stitched into the person
--   n_loyalty_ids: loyalty card numbers stitched into the person
with persons as (
    select * from intermediate.int_persons
),

final as (
    select
        person_id, customer_id, persona, is_shared_profile, first_seen_at, last_seen_at, n_events,
        n_customer_ids, n_anonymous_ids, n_email_hashes, n_phone_hashes, n_loyalty_ids
    from persons
)

select * from final
