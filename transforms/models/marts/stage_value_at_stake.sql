with journey_map as (
    select
        persona, stage, stage_rank, n_journeys, n_dropped, n_customers_at_stake, n_prospects_at_stake,
        value_at_stake, currency
    from {{ ref('journey_map') }}
),

stage_journeys as (
    select persona, stage_rank, max(n_stage_journeys) as n_stage_journeys
    from {{ ref('journey_map') }}
    group by persona, stage_rank
),

per_stage as (
    select
        journey_map.persona,
        journey_map.stage,
        journey_map.stage_rank,
        sum(journey_map.n_dropped)::bigint as n_dropped,
        sum(journey_map.n_customers_at_stake)::bigint as n_customers_at_stake,
        sum(journey_map.n_prospects_at_stake)::bigint as n_prospects_at_stake,
        sum(journey_map.value_at_stake) as value_at_stake,
        min(journey_map.currency) as currency
    from journey_map
    group by journey_map.persona, journey_map.stage, journey_map.stage_rank
),

final as (
    select
        per_stage.persona,
        per_stage.stage,
        per_stage.stage_rank,
        stage_journeys.n_stage_journeys,
        per_stage.n_dropped,
        per_stage.n_dropped / stage_journeys.n_stage_journeys as drop_off_rate,
        per_stage.n_customers_at_stake,
        per_stage.n_prospects_at_stake,
        per_stage.value_at_stake,
        per_stage.value_at_stake / nullif(sum(per_stage.value_at_stake) over (partition by per_stage.persona), 0)
            as share_of_value_at_stake,
        row_number() over (
            partition by per_stage.persona
            order by per_stage.value_at_stake desc, per_stage.n_dropped desc, per_stage.stage_rank
        )::bigint as rank,
        per_stage.currency
    from per_stage
    inner join stage_journeys
        on stage_journeys.persona = per_stage.persona and stage_journeys.stage_rank = per_stage.stage_rank
)

select * from final
