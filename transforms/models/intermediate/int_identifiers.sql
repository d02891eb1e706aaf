{#
  Incremental (transforms/incremental.py): an incremental build replaces the identifiers staging
  logged (those of the events it rebuilt, before and after), aggregating every staged event that
  carries one of them.
#}
{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail',
          pre_hook="{{ delete_changed_identifiers('identifier_type', 'identifier_value') }}") }}

with touchpoints as (
    select occurred_at, customer_id, anonymous_id, email_hash, phone_hash, loyalty_id
    from {{ ref('stg_touchpoints') }}
    where {{ carries_changed_identifier() }}
),

person_limits as (
    select identifier_type, person_limit::integer as person_limit
    from ({{ struct_rows(setting('identifier_person_limits')) }})
),

with_real_customer as (
    select
        *,
        case
            when not {{ regex_full_match('lower(customer_id)', setting('identifier_placeholder_pattern')) }} then customer_id
        end as real_customer_id
    from touchpoints
),

unpivoted as (
    select occurred_at, real_customer_id, identifier_type, identifier_value
    from with_real_customer
    unpivot (identifier_value for identifier_type in (customer_id, anonymous_id, email_hash, phone_hash, loyalty_id))
),

-- On an incremental build, the events' other identifiers did not change: their rows stay as they are.
identifiers as (
    select occurred_at, real_customer_id, identifier_type, identifier_value
    from unpivoted
    where {{ changed_identifier_pair_only('identifier_type', 'identifier_value') }}
),

-- Two steps instead of count(distinct): one row per (identifier, customer) first.
per_customer as (
    select
        identifier_type, identifier_value, real_customer_id, count(*) as n_events,
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
        {{ regex_full_match('lower(aggregated.identifier_value)', setting('identifier_placeholder_pattern')) }} as is_placeholder,
        person_limits.person_limit
    from aggregated
    left join person_limits on person_limits.identifier_type = aggregated.identifier_type
),

final as (
    select
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
