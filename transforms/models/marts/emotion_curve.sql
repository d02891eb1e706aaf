with responses as (
    select
        case when scopes.scope = 'all' then 'all' else coalesce(survey_responses.persona, '(none)') end as persona,
        survey_responses.rated_stage,
        survey_responses.nps_score,
        survey_responses.is_promoter,
        survey_responses.is_detractor,
        survey_responses.csat_score,
        survey_responses.is_csat_satisfied,
        survey_responses.ces_score
    from {{ ref('survey_responses') }} as survey_responses
    cross join (values ('all'), ('persona')) as scopes (scope)
),

stages as (
    select stage, stage_rank from {{ ref('stages') }}
),

personas as (
    select distinct persona from responses
),

counted as (
    select
        responses.persona,
        responses.rated_stage,
        count(*) as n_responses,
        {{ satisfaction_scores('responses.') }}
    from responses
    group by responses.persona, responses.rated_stage
),

-- Every stage for every persona that answered, a stage nobody rated with n = 0: the curve has a
-- gap there rather than skipping the stage.
final as (
    select
        personas.persona,
        stages.stage,
        stages.stage_rank,
        coalesce(counted.n_responses, 0) as n_responses,
        coalesce(counted.n_nps_responses, 0) as n_nps_responses,
        100 * (counted.share_promoters - counted.share_detractors) as nps,
        {{ nps_margin_of_error('counted.share_promoters', 'counted.share_detractors', 'counted.n_nps_responses') }}
            as nps_margin_of_error,
        coalesce(counted.n_csat_responses, 0) as n_csat_responses,
        counted.csat,
        {{ csat_margin_of_error('counted.csat', 'counted.n_csat_responses') }} as csat_margin_of_error,
        coalesce(counted.n_ces_responses, 0) as n_ces_responses,
        counted.ces,
        {{ ces_margin_of_error('counted.ces_sd', 'counted.n_ces_responses') }} as ces_margin_of_error
    from personas
    cross join stages
    left join counted on counted.persona = personas.persona and counted.rated_stage = stages.stage
)

select * from final
