with journey_steps as (
    select journey_id, person_id, occurred_at, stage_rank
    from {{ ref('journey_steps') }}
    where occurred_at <= {{ as_of() }}
),

journeys as (
    select journey_id, person_id, first_channel, journey_type, persona
    from {{ ref('journeys') }}
    where started_at <= {{ as_of() }}
),

stages as (
    select stage, stage_rank, lead(stage) over (order by stage_rank) as next_stage
    from {{ ref('stages') }}
),

person_cohorts as (
    select person_id, date_trunc('month', min(occurred_at)) as cohort_month
    from journey_steps
    group by person_id
),

first_at_rank as (
    select journey_id, stage_rank, min(occurred_at) as first_at
    from journey_steps
    where stage_rank is not null
    group by journey_id, stage_rank
),

-- First time at stage k or later: a running minimum from the last stage down.
reached as (
    select
        journeys.journey_id,
        stages.stage_rank,
        min(first_at_rank.first_at) over (
            partition by journeys.journey_id
            order by stages.stage_rank desc
            rows between unbounded preceding and current row
        ) as reached_at
    from journeys
    cross join stages
    left join first_at_rank
        on first_at_rank.journey_id = journeys.journey_id
        and first_at_rank.stage_rank = stages.stage_rank
),

reached_next as (
    select
        *,
        lead(reached_at) over (partition by journey_id order by stage_rank) as next_reached_at
    from reached
),

sliced as (
    {%- set slicing = breakdown_slices(first_channel='journeys.first_channel', journey_type='journeys.journey_type',
                                       cohort_month='person_cohorts.cohort_month', persona='journeys.persona') %}
    select slices.breakdown, {{ slicing.breakdown_value }} as breakdown_value, journeys.journey_id
    from journeys
    left join person_cohorts on person_cohorts.person_id = journeys.person_id
    {{ slicing.cross_join }}
),

transitions as (
    select
        sliced.breakdown,
        sliced.breakdown_value,
        reached_next.stage_rank,
        reached_next.reached_at,
        reached_next.next_reached_at,
        {{ seconds_between('reached_next.reached_at', 'reached_next.next_reached_at') }} as time_to_next_s
    from sliced
    inner join reached_next on reached_next.journey_id = sliced.journey_id
),

-- percentile_cont's figures, by a sort that spills (macros/exact_percentiles.sql): a group holds
-- millions of journeys.
ranked as (
    select
        transitions.*,
        {{ percentile_ranks('time_to_next_s', ['breakdown', 'breakdown_value', 'stage_rank']) }}
    from transitions
),

counted as (
    select
        breakdown,
        breakdown_value,
        stage_rank,
        count(*) as n_journeys,
        count(reached_at) as n_reached,
        count(next_reached_at) as n_reached_next,
        {{ exact_percentile('time_to_next_s', 0.5) }} as median_time_to_next_s,
        {{ exact_percentile('time_to_next_s', 0.9) }} as p90_time_to_next_s
    from ranked
    group by breakdown, breakdown_value, stage_rank
),

final as (
    select
        counted.breakdown,
        counted.breakdown_value,
        stages.stage,
        counted.stage_rank,
        stages.next_stage,
        counted.n_journeys,
        counted.n_reached,
        counted.n_reached / nullif(counted.n_journeys, 0) as reach_rate,
        case when stages.next_stage is not null then counted.n_reached_next end as n_reached_next,
        case when stages.next_stage is not null then counted.n_reached_next / nullif(counted.n_reached, 0) end
            as conversion_to_next_rate,
        case when stages.next_stage is not null then 1 - counted.n_reached_next / nullif(counted.n_reached, 0) end
            as drop_off_rate,
        counted.median_time_to_next_s,
        counted.p90_time_to_next_s
    from counted
    inner join stages on stages.stage_rank = counted.stage_rank
)

select * from final
