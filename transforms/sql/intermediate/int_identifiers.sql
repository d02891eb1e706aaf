-- One row per identifier value (identifier_type, identifier_value) seen on a staged touchpoint,
-- with what decides whether it may link touchpoints into one person. Placeholders ('guest', '0',
-- all zeros, ... from settings.identifier_placeholders) never link anything. A value seen with
-- more distinct customer_ids than its type's limit (settings.identifier_person_limits: a shared
-- device, a household phone, a call-centre number) is shared: it does not merge profiles either.
-- identifier_key numbers the values in (identifier_type, identifier_value) order, so the Python
-- stitcher works on integers and processes them in a deterministic order.
-- columns:
--   identifier_key: 1..n in (identifier_type, identifier_value) order; how identity stitching refers to the value
--   identifier_type: customer_id, anonymous_id, email_hash, phone_hash or loyalty_id
--   identifier_value: the value as staged (trimmed)
--   is_placeholder: a placeholder value (compared lower-cased): never links touchpoints, gets no person
--   n_customer_ids: distinct real (non-placeholder) customer_ids on the touchpoints that carry the value
--   person_limit: most distinct customer_ids a value of this type may be seen with; NULL = no limit
--   is_shared: seen with more customer_ids than person_limit: a profile of its own that merges nothing
--   n_events: touchpoints that carry the value
--   first_seen_at: earliest occurred_at of those touchpoints
--   last_seen_at: latest occurred_at of those touchpoints
with touchpoints as (
    select occurred_at, customer_id, anonymous_id, email_hash, phone_hash, loyalty_id
    from staging.stg_touchpoints
),

person_limits as (
    select identifier_type, cast(person_limit as integer) as person_limit
    from (select unnest($identifier_person_limits, recursive := true))
),

with_real_customer as (
    select
        *,
        case when not regexp_full_match(lower(customer_id), $identifier_placeholder_pattern)
            then customer_id end as real_customer_id
    from touchpoints
),

identifiers as (
    unpivot with_real_customer
    on customer_id, anonymous_id, email_hash, phone_hash, loyalty_id
    into name identifier_type value identifier_value
),

-- Two steps instead of count(distinct): one row per (identifier, customer) first.
per_customer as (
    select identifier_type, identifier_value, real_customer_id, count(*) as n_events,
           min(occurred_at) as first_seen_at, max(occurred_at) as last_seen_at
    from identifiers
    group by identifier_type, identifier_value, real_customer_id
),

aggregated as (
    select
        identifier_type,
        identifier_value,
        count(real_customer_id) as n_customer_ids,
        sum(n_events)::bigint as n_events,
        min(first_seen_at) as first_seen_at,
        max(last_seen_at) as last_seen_at
    from per_customer
    group by identifier_type, identifier_value
),

flagged as (
    select
        aggregated.*,
        regexp_full_match(lower(aggregated.identifier_value), $identifier_placeholder_pattern) as is_placeholder,
        person_limits.person_limit
    from aggregated
    left join person_limits on person_limits.identifier_type = aggregated.identifier_type
),

final as (
    select
        row_number() over (order by identifier_type, identifier_value) as identifier_key,
        identifier_type,
        identifier_value,
        is_placeholder,
        n_customer_ids,
        person_limit,
        not is_placeholder and coalesce(n_customer_ids > person_limit, false) as is_shared,
        n_events,
        first_seen_at,
        last_seen_at
    from flagged
)

select * from final
