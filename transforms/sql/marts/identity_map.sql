-- One row per identifier value that identifies someone (placeholders excluded): the person it was
-- stitched into. Look a customer_id, device, e-mail or phone hash up here to find the person_id the
-- marts use. Shared values (is_shared) identify only a profile of their own.
-- columns:
--   identifier_type: customer_id, anonymous_id, email_hash, phone_hash or loyalty_id
--   identifier_value: the value as staged
--   person_id: the person it belongs to
--   is_shared: the value was seen with more customer_ids than its type's limit, so it merges nothing
--   is_anchor: the person_id is derived from this identifier
with identity_map as (
    select * from intermediate.int_identity_map
),

final as (
    select identifier_type, identifier_value, person_id, is_shared, is_anchor
    from identity_map
)

select * from final
