with persons as (
    select * from {{ ref('int_persons') }}
),

final as (
    select
        person_id, customer_id, persona, is_shared_profile, first_seen_at, last_seen_at, n_events,
        n_customer_ids, n_anonymous_ids, n_email_hashes, n_phone_hashes, n_loyalty_ids
    from persons
)

select * from final
