with responses as (
    select * from {{ ref('survey_responses') }}
),

sliced as (
    select
        dimensions.dimension,
        case
            when dimensions.dimension = 'all' then 'all'
            -- a response that rates no touchpoint has no channel, event type, stage or issue of its own
            when
                dimensions.dimension in ('channel', 'event_type', 'stage', 'issue_category')
                and responses.rated_event_id is null
                then '(unattributed)'
            when dimensions.dimension = 'channel' then coalesce(responses.rated_channel, '(none)')
            when dimensions.dimension = 'event_type' then coalesce(responses.rated_event_type, '(none)')
            when dimensions.dimension = 'stage' then coalesce(responses.rated_stage, '(none)')
            when dimensions.dimension = 'issue_category' then coalesce(responses.issue_category, '(none)')
            when dimensions.dimension = 'journey_type' then coalesce(responses.journey_type, '(none)')
            when dimensions.dimension = 'persona' then coalesce(responses.persona, '(none)')
            when dimensions.dimension = 'month' then {{ year_month('responses.response_month') }}
        end as dimension_value,
        responses.*
    from responses
    cross join (
        values ('all'), ('channel'), ('event_type'), ('stage'), ('issue_category'), ('journey_type'), ('persona'), ('month')
    ) as dimensions (dimension)
),

counted as (
    select
        dimension,
        dimension_value,
        count(*) as n_responses,
        count(*) filter (where is_promoter) as n_promoters,
        count(*) filter (where nps_score between 7 and 8) as n_passives,
        count(*) filter (where is_detractor) as n_detractors,
        count(*) filter (where is_csat_satisfied) as n_csat_satisfied,
        count(*) filter (where is_csat_low) as n_csat_low,
        count(*) filter (where is_ces_high_effort) as n_ces_high_effort,
        {{ satisfaction_scores() }}
    from sliced
    group by dimension, dimension_value
),

final as (
    select
        dimension,
        dimension_value,
        n_responses,
        n_nps_responses,
        n_promoters,
        n_passives,
        n_detractors,
        share_promoters,
        share_detractors,
        100 * (share_promoters - share_detractors) as nps,
        {{ nps_margin_of_error('share_promoters', 'share_detractors', 'n_nps_responses') }} as nps_margin_of_error,
        n_csat_responses,
        n_csat_satisfied,
        n_csat_low,
        csat,
        {{ csat_margin_of_error('csat', 'n_csat_responses') }} as csat_margin_of_error,
        n_ces_responses,
        n_ces_high_effort,
        ces,
        {{ ces_margin_of_error('ces_sd', 'n_ces_responses') }} as ces_margin_of_error
    from counted
)

select * from final
