with journey_steps as (
    select journey_id, step_number, occurred_at, event_type, stage_kind, is_conversion
    from {{ ref('journey_steps') }}
    where occurred_at <= {{ as_of() }}
),

journey_ends as (
    select
        journey_id,
        {{ journey_end_node() }} as end_node
    from journey_steps
    group by journey_id
),

collapsed as (
    {{ collapse_event_type_repeats('journey_steps') }}
),

ordered as (
    select
        journey_id,
        event_type as step,
        occurred_at as entered_at,
        lead(event_type) over by_journey as next_step,
        lead(occurred_at) over by_journey as next_entered_at,
        row_number() over by_journey = 1 as is_first
    from collapsed
    window by_journey as (partition by journey_id order by step_number)
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
