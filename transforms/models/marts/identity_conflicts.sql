with identifiers as (
    select * from {{ ref('int_identifiers') }}
),

links as (
    select * from {{ ref('int_identity_links') }}
),

identity_map as (
    select identifier_type, identifier_value, person_id, is_shared from {{ source('intermediate', 'int_identity_map') }}
),

person_customers as (
    select person_id, identifier_value as customer_id
    from identity_map
    where identifier_type = 'customer_id'
),

placeholders as (
    select
        'placeholder' as reason,
        identifier_type,
        identifier_value,
        null::string as linked_identifier_type,
        null::string as linked_identifier_value,
        null::string as customer_id,
        null::string as refused_customer_id,
        n_customer_ids,
        null::integer as person_limit,
        n_events,
        first_seen_at,
        last_seen_at,
        'placeholder value: links nothing' as detail
    from identifiers
    where is_placeholder
),

shared as (
    select
        'shared_identifier' as reason,
        identifier_type,
        identifier_value,
        null::string as linked_identifier_type,
        null::string as linked_identifier_value,
        null::string as customer_id,
        null::string as refused_customer_id,
        n_customer_ids,
        person_limit,
        n_events,
        first_seen_at,
        last_seen_at,
        (
            'seen with ' || n_customer_ids::string || ' customer_ids, over the ' || identifier_type || ' limit of '
            || person_limit::string || ': merges nothing'
        ) as detail
    from identifiers
    where is_shared
),

refused_links as (
    select
        'customer_id_conflict' as reason,
        links.identifier_type_b as identifier_type,
        links.identifier_value_b as identifier_value,
        links.identifier_type_a as linked_identifier_type,
        links.identifier_value_a as linked_identifier_value,
        customer_b.customer_id,
        customer_a.customer_id as refused_customer_id,
        2::bigint as n_customer_ids,
        null::integer as person_limit,
        links.n_events,
        links.first_seen_at,
        links.last_seen_at,
        (
            'would merge customer ' || coalesce(customer_b.customer_id, '?') || ' with customer '
            || coalesce(customer_a.customer_id, '?') || ': link refused'
        ) as detail
    from links
    inner join identity_map as map_a
        on map_a.identifier_type = links.identifier_type_a and map_a.identifier_value = links.identifier_value_a
    inner join identity_map as map_b
        on map_b.identifier_type = links.identifier_type_b and map_b.identifier_value = links.identifier_value_b
    left join person_customers as customer_a on customer_a.person_id = map_a.person_id
    left join person_customers as customer_b on customer_b.person_id = map_b.person_id
    where map_a.person_id <> map_b.person_id and not map_a.is_shared and not map_b.is_shared
),

final as (
    select * from placeholders
    union all
    select * from shared
    union all
    select * from refused_links
)

select * from final
