with journey_steps as (
    select journey_id, step_number, channel, event_type, stage_kind
    from {{ ref('journey_steps') }}
),

path_steps as (
    select journey_id, event_type, entered_at, previous_event_type, previous_entered_at, next_event_type
    from {{ ref('path_steps') }}
),

survey_responses as (
    select * from {{ ref('survey_responses') }}
    where rated_event_id is not null
),

journey_ends as (
    select
        journeys.journey_id,
        {{ journey_end_node('journeys') }} as end_node
    from {{ ref('journeys') }} as journeys
),

transitions as (
    select
        journey_id,
        coalesce(previous_event_type, '(start)') as from_step,
        event_type as to_step,
        {{ seconds_between('previous_entered_at', 'entered_at') }} as seconds,
        next_event_type is null as is_last
    from path_steps
),

ended as (
    select transitions.*, journey_ends.end_node
    from transitions
    inner join journey_ends using (journey_id)
    where journey_ends.end_node <> '(ongoing)'
),

n_dropped as (
    select count(*) as n
    from journey_ends
    where end_node = '(drop)'
),

drop_off_step as (
    select
        'drop_off_step' as pain_type,
        to_step as from_step,
        null::string as to_step,
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
    select *, n / nullif((select n_dropped.n from n_dropped), 0) as share
    from (
        select * from drop_off_step
        union all
        select * from drop_off_transition
    ) as drop_off_rows
    where n > 0
),

slow_transition as (
    select
        'slow_transition' as pain_type,
        from_step,
        to_step,
        count(*) as n,
        sum(count(*)) over (partition by from_step)::bigint as base,
        median(seconds) as median_seconds
    from transitions
    where from_step <> '(start)'
    group by from_step, to_step
),

survey_pain_types as (
    select pain_types.pain_type from (values ('low_csat'), ('high_effort'), ('detractor')) as pain_types (pain_type)
),

survey_pains as (
    select survey_pain_types.pain_type, survey_responses.rated_event_type as from_step, survey_responses.rated_channel as channel
    from survey_responses
    cross join survey_pain_types
    where case survey_pain_types.pain_type
            when 'low_csat' then survey_responses.is_csat_low
            when 'high_effort' then survey_responses.is_ces_high_effort
            when 'detractor' then survey_responses.is_detractor
        end
),

survey_bases as (
    select
        survey_pain_types.pain_type, survey_responses.rated_event_type as from_step, survey_responses.rated_channel as channel,
        count(*) as base
    from survey_responses
    cross join survey_pain_types
    where case survey_pain_types.pain_type
            when 'low_csat' then survey_responses.csat_score is not null
            when 'high_effort' then survey_responses.ces_score is not null
            when 'detractor' then survey_responses.nps_score is not null
        end
    group by survey_pain_types.pain_type, survey_responses.rated_event_type, survey_responses.rated_channel
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

-- Each exit with the last step before it that is not an exit: a running max over the steps of
-- the few journeys with an exit only (a join of each exit to every earlier step probed all 10M
-- steps and paired each exit with its whole prefix).
exit_journey_steps as (
    select journey_id, step_number, channel, event_type, stage_kind
    from journey_steps
    where journey_id in (
            select exited.journey_id
            from journey_steps as exited
            where exited.stage_kind = 'exit'
        )
),

exit_predecessors as (
    select journey_id, step_number, event_type, predecessor_step_number
    from (
        select
            journey_id,
            step_number,
            event_type,
            stage_kind,
            max(case when stage_kind <> 'exit' then step_number end) over (
                partition by journey_id order by step_number
                rows between unbounded preceding and 1 preceding
            ) as predecessor_step_number
        from exit_journey_steps
    ) as walked
    where stage_kind = 'exit'
),

exits as (
    select
        exit_predecessors.event_type,
        predecessor.event_type as predecessor_event_type,
        predecessor.channel as predecessor_channel
    from exit_predecessors
    left join exit_journey_steps as predecessor
        on predecessor.journey_id = exit_predecessors.journey_id
        and predecessor.step_number = exit_predecessors.predecessor_step_number
),

touchpoint_counts as (
    select event_type, channel, count(*) as base
    from journey_steps
    group by event_type, channel
),

churn_exits as (
    select
        'churn_exit' as pain_type,
        coalesce(exits.predecessor_event_type, '(start)') as from_step,
        exits.event_type as to_step,
        exits.predecessor_channel as channel,
        count(*) as n,
        any_value(touchpoint_counts.base) as base,
        count(*) / sum(count(*)) over () as share
    from exits
    left join touchpoint_counts
        on touchpoint_counts.event_type = exits.predecessor_event_type
        and touchpoint_counts.channel is not distinct from exits.predecessor_channel
    group by exits.predecessor_event_type, exits.event_type, exits.predecessor_channel
),

unioned as (
    select pain_type, from_step, to_step, null::string as channel, n, base, share, null::double as median_seconds
    from drop_offs
    union all
    select pain_type, from_step, to_step, null::string as channel, n, base, null::double as share, median_seconds
    from slow_transition
    union all
    select pain_type, from_step, null::string as to_step, channel, n, base, share, null::double as median_seconds
    from survey_counts
    union all
    select pain_type, from_step, to_step, channel, n, base, share, null::double as median_seconds
    from churn_exits
),

final as (
    select
        pain_type,
        (case
            when pain_type <> 'slow_transition'
                then row_number() over (
                    partition by pain_type order by n desc, n / base desc nulls last, from_step, to_step, channel
                )
            when n >= {{ setting('pain_points_min_n') }}
                then row_number() over (
                    partition by pain_type, n >= {{ setting('pain_points_min_n') }}
                    order by median_seconds desc nulls last, from_step, to_step
                )
        end)::bigint as rank,
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
