with stage_model as (
    select * from {{ source('intermediate', 'int_stage_model') }}
),

final as (
    select stage_model, event_type, stage, stage_rank, stage_kind, is_conversion
    from stage_model
)

select * from final
