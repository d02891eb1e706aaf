-- One row per breakdown, breakdown value and stage of the active stage model, as of as_of: how many
-- journeys reached the stage, how many went on to the next stage, and how long that took.
-- A journey reached stage k when its highest stage is k or later (the furthest stage any of its
-- touchpoints maps to, detours and exits included, as marts.journeys counts it); it reached k at
-- its first touchpoint in stage k or later, so a journey that skipped a stage reached it at the
-- same moment as the next one (time 0). Drop-off at k = 1 - reached(k+1) / reached(k). Only
-- touchpoints on or before as_of count; journeys starting after it are left out. Breakdowns:
-- overall (value 'all'), first_channel (channel of the journey's first touchpoint), journey_type,
-- cohort_month (month of the person's first touchpoint, 'YYYY-MM': the cohort a person entered the
-- funnel in; customer marts use the month of the first conversion instead) and persona (b2b, b2c);
-- journey_type and persona as marts.journeys has them, a NULL value shown as '(none)'. Every stage
-- appears for every breakdown value, with zero counts when no journey of the slice reached it, so
-- each slice reads as a complete funnel.
-- columns:
--   breakdown: overall, first_channel, journey_type, cohort_month or persona
--   breakdown_value: value of the breakdown ('all' for overall, 'YYYY-MM' for cohort_month, '(none)' for NULL)
--   stage: stage name in the active stage model
--   stage_rank: position of the stage, 1 = first
--   next_stage: the stage after it; NULL for the last stage
--   n_journeys: journeys of the slice started on or before as_of (the same on every stage row)
--   n_reached: journeys of the slice whose highest stage is this stage or later
--   reach_rate: n_reached / n_journeys
--   n_reached_next: journeys of the slice whose highest stage is the next stage or later; NULL for the last stage
--   conversion_to_next_rate: n_reached_next / n_reached; NULL for the last stage or when no journey reached the stage
--   drop_off_rate: 1 - conversion_to_next_rate: share of the journeys reaching this stage that got no further
--   median_time_to_next_s: median seconds from first reaching this stage to first reaching the next, over journeys that reached the next (interpolated)
--   p90_time_to_next_s: 90th percentile (interpolated) of the same seconds
with journey_steps as (
    select journey_id, person_id, occurred_at, stage_rank
    from marts.journey_steps
    where occurred_at <= $as_of
),

journeys as (
    select journey_id, person_id, first_channel, journey_type, persona
    from marts.journeys
    where started_at <= $as_of
),

stages as (
    select stage, stage_rank, lead(stage) over (order by stage_rank) as next_stage
    from marts.stages
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
    select slice.breakdown, slice.breakdown_value, journeys.journey_id
    from journeys
    left join person_cohorts on person_cohorts.person_id = journeys.person_id
    cross join unnest([
        {'breakdown': 'overall', 'breakdown_value': 'all'},
        {'breakdown': 'first_channel', 'breakdown_value': coalesce(journeys.first_channel, '(none)')},
        {'breakdown': 'journey_type', 'breakdown_value': coalesce(journeys.journey_type, '(none)')},
        {'breakdown': 'cohort_month', 'breakdown_value': coalesce(strftime(person_cohorts.cohort_month, '%Y-%m'), '(none)')},
        {'breakdown': 'persona', 'breakdown_value': coalesce(journeys.persona, '(none)')}
    ]) as slices(slice)
),

counted as (
    select
        sliced.breakdown,
        sliced.breakdown_value,
        reached_next.stage_rank,
        count(*) as n_journeys,
        count(reached_next.reached_at) as n_reached,
        count(reached_next.next_reached_at) as n_reached_next,
        quantile_cont(epoch(reached_next.next_reached_at) - epoch(reached_next.reached_at), 0.5) as median_time_to_next_s,
        quantile_cont(epoch(reached_next.next_reached_at) - epoch(reached_next.reached_at), 0.9) as p90_time_to_next_s
    from sliced
    join reached_next on reached_next.journey_id = sliced.journey_id
    group by sliced.breakdown, sliced.breakdown_value, reached_next.stage_rank
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
    join stages on stages.stage_rank = counted.stage_rank
)

select * from final
