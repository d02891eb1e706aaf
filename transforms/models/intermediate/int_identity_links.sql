with touchpoints as (
    select event_id, occurred_at, customer_id, loyalty_id, email_hash, phone_hash, anonymous_id
    from {{ ref('stg_touchpoints') }}
),

real_identifiers as (
    select
        event_id,
        occurred_at,
        case when not regexp_full_match(lower(customer_id), {{ setting('identifier_placeholder_pattern') }}) then customer_id end as customer_id,
        case when not regexp_full_match(lower(loyalty_id), {{ setting('identifier_placeholder_pattern') }}) then loyalty_id end as loyalty_id,
        case when not regexp_full_match(lower(email_hash), {{ setting('identifier_placeholder_pattern') }}) then email_hash end as email_hash,
        case when not regexp_full_match(lower(phone_hash), {{ setting('identifier_placeholder_pattern') }}) then phone_hash end as phone_hash,
        case when not regexp_full_match(lower(anonymous_id), {{ setting('identifier_placeholder_pattern') }}) then anonymous_id end as anonymous_id
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
