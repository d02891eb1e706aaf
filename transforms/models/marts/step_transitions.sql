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

ordered as (
    select
        journey_id,
        event_type as step,
        entered_at,
        next_event_type as next_step,
        next_entered_at,
        path_step_number = 1 as is_first
    from path_steps
),

transitions as (
    select journey_id, '(start)' as source, step as target, null::double as seconds
    from ordered
    where is_first
    union all
    select
        ordered.journey_id,
        ordered.step as source,
        coalesce(ordered.next_step, journey_ends.end_node) as target,
        {{ seconds_between('ordered.entered_at', 'ordered.next_entered_at') }} as seconds
    from ordered
    inner join journey_ends using (journey_id)
),

final as (
    select
        source,
        target,
        count(*) as n,
        count(distinct journey_id) as n_journeys,
        count(*) / sum(count(*)) over (partition by source) as share_of_source,
        median(seconds) as median_seconds,
        avg(seconds) as avg_seconds
    from transitions
    group by source, target
)

select * from final
