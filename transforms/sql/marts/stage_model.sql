-- One row per event type of the active stage model (settings.stage_model): its stage, kind and
-- whether it converts. Published so analysts can see, and SQL can join, how event types were
-- grouped; event types not listed here appear in the journeys with stage_kind 'unmapped'.
-- columns:
--   stage_model: name of the active stage model
--   event_type: event type (lower-case, as staged)
--   stage: the stage it belongs to
--   stage_rank: position of the stage in the model, 1 = first
--   stage_kind: main (forward path), detour (side path) or exit (the customer leaves)
--   is_conversion: the event type counts as a conversion
with stage_model as (
    select * from intermediate.int_stage_model
),

final as (
    select stage_model, event_type, stage, stage_rank, stage_kind, is_conversion
    from stage_model
)

select * from final
