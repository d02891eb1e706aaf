with journey_steps as (
    select journey_id, step_number, occurred_at, channel, event_type, stage_kind, is_conversion
    from {{ ref('journey_steps') }}
    where occurred_at <= {{ as_of() }}
),

survey_responses as (
    select * from {{ ref('survey_responses') }} where rated_event_id is not null
),

journey_ends as (
    select
        journey_id,
        {{ journey_end_node() }} as end_node
    from journey_steps
    group by journey_id
),

collapsed as (
    select *
    from journey_steps
    qualify event_type is distinct from lag(event_type) over (partition by journey_id order by step_number)
),

transitions as (
    select
        journey_id,
        coalesce(lag(event_type) over by_journey, '(start)') as from_step,
        event_type as to_step,
        {{ seconds_between('lag(occurred_at) over by_journey', 'occurred_at') }} as seconds,
        lead(event_type) over by_journey is null as is_last
    from collapsed
    window by_journey as (partition by journey_id order by step_number)
),

ended as (
    select transitions.*, journey_ends.end_node
    from transitions
    inner join journey_ends using (journey_id)
    where journey_ends.end_node <> '(ongoing)'
),

n_dropped as (
    select count(*) as n from journey_ends where end_node = '(drop)'
),

drop_off_step as (
    select
        'drop_off_step' as pain_type,
        to_step as from_step,
        null::varchar as to_step,
        count(distinct journey_id) filter (where is_last and end_node = '(drop)') as n,
        count(distinct journey_id) as base
    from ended
    group by to_step
),

drop_off_transition as (
    select
        'drop_off_transition' as pain_type,
        from_step,
        to_step,
        count(distinct journey_id) filter (where is_last and end_node = '(drop)') as n,
        count(distinct journey_id) as base
    from ended
    group by from_step, to_step
),

drop_offs as (
    select *, n / nullif((select n from n_dropped), 0) as share
    from (select * from drop_off_step union all select * from drop_off_transition)
    where n > 0
),

slow_transition as (
    select
        'slow_transition' as pain_type,
        from_step,
        to_step,
        count(*) as n,
        sum(count(*)) over (partition by from_step) as base,
        median(seconds) as median_seconds
    from transitions
    where from_step <> '(start)'
    group by from_step, to_step
),

survey_pains as (
    select pain.pain_type, survey_responses.rated_event_type as from_step, survey_responses.rated_channel as channel
    from survey_responses
    cross join unnest([
        case when is_csat_low then 'low_csat' end,
        case when is_ces_high_effort then 'high_effort' end,
        case when is_detractor then 'detractor' end
    ]) as pain(pain_type)
    where pain.pain_type is not null
),

survey_bases as (
    select base.pain_type, rated_event_type as from_step, rated_channel as channel, count(*) as base
    from survey_responses
    cross join unnest([
        case when csat_score is not null then 'low_csat' end,
        case when ces_score is not null then 'high_effort' end,
        case when nps_score is not null then 'detractor' end
    ]) as base(pain_type)
    where base.pain_type is not null
    group by base.pain_type, rated_event_type, rated_channel
),

survey_counts as (
    select
        survey_pains.pain_type,
        survey_pains.from_step,
        survey_pains.channel,
        count(*) as n,
        any_value(survey_bases.base) as base,
        count(*) / sum(count(*)) over (partition by survey_pains.pain_type) as share
    from survey_pains
    inner join survey_bases
        on survey_bases.pain_type = survey_pains.pain_type
        and survey_bases.from_step is not distinct from survey_pains.from_step
        and survey_bases.channel is not distinct from survey_pains.channel
    group by survey_pains.pain_type, survey_pains.from_step, survey_pains.channel
),

with_predecessor as (
    select
        *,
        last_value(case when stage_kind <> 'exit' then {'event_type': event_type, 'channel': channel} end ignore nulls)
            over (partition by journey_id order by step_number rows between unbounded preceding and 1 preceding)
            as predecessor
    from journey_steps
),

touchpoint_counts as (
    select event_type, channel, count(*) as base from journey_steps group by all
),

churn_exits as (
    select
        'churn_exit' as pain_type,
        coalesce(exits.predecessor.event_type, '(start)') as from_step,
        exits.event_type as to_step,
        exits.predecessor.channel as channel,
        count(*) as n,
        any_value(touchpoint_counts.base) as base,
        count(*) / sum(count(*)) over () as share
    from with_predecessor as exits
    left join touchpoint_counts
        on touchpoint_counts.event_type = exits.predecessor.event_type
        and touchpoint_counts.channel is not distinct from exits.predecessor.channel
    where exits.stage_kind = 'exit'
    group by exits.predecessor.event_type, exits.event_type, exits.predecessor.channel
),

unioned as (
    select * from drop_offs
    union all by name
    select * from slow_transition
    union all by name
    select * from survey_counts
    union all by name
    select * from churn_exits
),

final as (
    select
        pain_type,
        case
            when pain_type <> 'slow_transition'
                then row_number() over (
                    partition by pain_type order by n desc, n / base desc nulls last, from_step, to_step, channel
                )
            when n >= {{ setting('pain_points_min_n') }}
                then row_number() over (
                    partition by pain_type, n >= {{ setting('pain_points_min_n') }} order by median_seconds desc nulls last, from_step, to_step
                )
        end as rank,
        from_step,
        to_step,
        channel,
        n,
        base,
        n / base as rate,
        case when pain_type <> 'slow_transition' then share end as share,
        median_seconds
    from unioned
)

select * from final
