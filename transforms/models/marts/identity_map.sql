with identity_map as (
    select * from {{ source('intermediate', 'int_identity_map') }}
),

final as (
    select identifier_type, identifier_value, person_id, is_shared, is_anchor
    from identity_map
)

select * from final
