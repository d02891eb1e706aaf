with path_steps as (
    select journey_id, path_step_number, event_type, entered_at, next_event_type, next_entered_at
    from {{ ref('path_steps') }}
),

journey_ends as (
    select
        journeys.journey_id,
        {{ journey_end_node('journeys') }} as end_node
    from {{ ref('journeys') }} as journeys
),

-- Each path step twice over: once as the transition it leaves by, and, for a journey's first step, once
-- more as the '(start)' transition into it. One read of path_steps (a CTE read twice is held in memory
-- by DuckDB: macros/exact_percentiles.sql).
transitions as (
    select
        path_steps.journey_id,
        case when copies.is_start then '(start)' else path_steps.event_type end as source,
        case
            when copies.is_start then path_steps.event_type
            else coalesce(path_steps.next_event_type, journey_ends.end_node)
        end as target,
        case
            when not copies.is_start
                then {{ seconds_between('path_steps.entered_at', 'path_steps.next_entered_at') }}
        end as seconds
    from path_steps
    inner join journey_ends on journey_ends.journey_id = path_steps.journey_id
    cross join (values (false), (true)) as copies (is_start)
    where not copies.is_start or path_steps.path_step_number = 1
),

-- count(distinct journey_id) and median() would hold a transition's values in memory (millions at
-- 100M events: DuckDB ran out of memory); windows sort, and spill.
ranked as (
    select
        source,
        target,
        seconds,
        row_number() over (partition by source, target, journey_id order by seconds) = 1 as is_first_of_journey,
        {{ percentile_ranks('seconds', ['source', 'target']) }}
    from transitions
),

final as (
    select
        source,
        target,
        count(*) as n,
        count(case when is_first_of_journey then 1 end) as n_journeys,
        count(*) / sum(count(*)) over (partition by source) as share_of_source,
        {{ exact_percentile('seconds', 0.5) }} as median_seconds,
        avg(seconds) as avg_seconds
    from ranked
    group by source, target
)

select * from final
