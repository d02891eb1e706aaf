with stages as (
    select * from {{ source('intermediate', 'int_stages') }}
),

final as (
    select stage_model, stage, stage_rank, n_event_types
    from stages
)

select * from final
