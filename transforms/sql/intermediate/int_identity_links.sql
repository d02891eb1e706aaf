-- One row per pair of identifiers seen together on at least one staged touchpoint: the evidence
-- identity stitching links profiles with. Every pair on a touchpoint is listed (not just a chain),
-- so dropping one identifier for being shared still leaves the others linked. Side a is the more
-- durable identifier (customer_id, loyalty_id, email_hash, phone_hash, anonymous_id, in that
-- order). Placeholder values are left out: they never link anything.
-- columns:
--   identifier_type_a: type of the more durable identifier of the pair
--   identifier_value_a: its value
--   identifier_type_b: type of the other identifier
--   identifier_value_b: its value
--   first_seen_at: occurred_at of the first touchpoint that carries both
--   first_event_id: that touchpoint (lowest event_id among ties): with first_seen_at, the order links are applied in
--   last_seen_at: occurred_at of the latest touchpoint that carries both
--   n_events: touchpoints that carry both
with touchpoints as (
    select event_id, occurred_at, customer_id, loyalty_id, email_hash, phone_hash, anonymous_id
    from staging.stg_touchpoints
),

real_identifiers as (
    select
        event_id,
        occurred_at,
        case when not regexp_full_match(lower(customer_id), $identifier_placeholder_pattern) then customer_id end as customer_id,
        case when not regexp_full_match(lower(loyalty_id), $identifier_placeholder_pattern) then loyalty_id end as loyalty_id,
        case when not regexp_full_match(lower(email_hash), $identifier_placeholder_pattern) then email_hash end as email_hash,
        case when not regexp_full_match(lower(phone_hash), $identifier_placeholder_pattern) then phone_hash end as phone_hash,
        case when not regexp_full_match(lower(anonymous_id), $identifier_placeholder_pattern) then anonymous_id end as anonymous_id
    from touchpoints
    where (customer_id is not null)::int + (loyalty_id is not null)::int + (email_hash is not null)::int
        + (phone_hash is not null)::int + (anonymous_id is not null)::int >= 2
),

pairs as (
    select event_id, occurred_at, 'customer_id' as identifier_type_a, customer_id as identifier_value_a,
           'loyalty_id' as identifier_type_b, loyalty_id as identifier_value_b
    from real_identifiers where customer_id is not null and loyalty_id is not null
    union all
    select event_id, occurred_at, 'customer_id', customer_id, 'email_hash', email_hash
    from real_identifiers where customer_id is not null and email_hash is not null
    union all
    select event_id, occurred_at, 'customer_id', customer_id, 'phone_hash', phone_hash
    from real_identifiers where customer_id is not null and phone_hash is not null
    union all
    select event_id, occurred_at, 'customer_id', customer_id, 'anonymous_id', anonymous_id
    from real_identifiers where customer_id is not null and anonymous_id is not null
    union all
    select event_id, occurred_at, 'loyalty_id', loyalty_id, 'email_hash', email_hash
    from real_identifiers where loyalty_id is not null and email_hash is not null
    union all
    select event_id, occurred_at, 'loyalty_id', loyalty_id, 'phone_hash', phone_hash
    from real_identifiers where loyalty_id is not null and phone_hash is not null
    union all
    select event_id, occurred_at, 'loyalty_id', loyalty_id, 'anonymous_id', anonymous_id
    from real_identifiers where loyalty_id is not null and anonymous_id is not null
    union all
    select event_id, occurred_at, 'email_hash', email_hash, 'phone_hash', phone_hash
    from real_identifiers where email_hash is not null and phone_hash is not null
    union all
    select event_id, occurred_at, 'email_hash', email_hash, 'anonymous_id', anonymous_id
    from real_identifiers where email_hash is not null and anonymous_id is not null
    union all
    select event_id, occurred_at, 'phone_hash', phone_hash, 'anonymous_id', anonymous_id
    from real_identifiers where phone_hash is not null and anonymous_id is not null
),

final as (
    select
        identifier_type_a,
        identifier_value_a,
        identifier_type_b,
        identifier_value_b,
        min(occurred_at) as first_seen_at,
        arg_min(event_id, (occurred_at, event_id)) as first_event_id,
        max(occurred_at) as last_seen_at,
        count(*) as n_events
    from pairs
    group by identifier_type_a, identifier_value_a, identifier_type_b, identifier_value_b
)

select * from final
