-- One row per stage of the active stage model, in journey order: the axis of every stage chart
-- (funnels, drop-off), including stages no touchpoint reached.
-- columns:
--   stage_model: name of the active stage model
--   stage: stage name
--   stage_rank: position in the model, 1 = first
--   n_event_types: event types the model puts in this stage
with stages as (
    select * from intermediate.int_stages
),

final as (
    select stage_model, stage, stage_rank, n_event_types
    from stages
)

select * from final
