with journey_steps as (
    select journey_id, step_number, event_type
    from {{ ref('journey_steps') }}
    where occurred_at <= {{ as_of() }}
),

journeys as (
    select journey_id, journey_type, is_converted, revenue, currency, started_at, ended_at from {{ ref('journeys') }}
),

collapsed as (
    select *
    from journey_steps
    qualify event_type is distinct from lag(event_type) over (partition by journey_id order by step_number)
),

paths as (
    select journey_id, list(event_type order by step_number) as steps
    from collapsed
    group by journey_id
),

journey_paths as (
    select
        journeys.journey_id,
        coalesce(journeys.journey_type, '(none)') as journey_type,
        least(len(paths.steps), {{ setting('path_variant_max_steps') }}) as n_steps,
        len(paths.steps) > {{ setting('path_variant_max_steps') }} as is_truncated,
        case
            when len(paths.steps) > {{ setting('path_variant_max_steps') }}
                then array_to_string(paths.steps[1:{{ setting('path_variant_max_steps') }}], ' > ') || ' > ...'
            else array_to_string(paths.steps, ' > ')
        end as path,
        coalesce(journeys.is_converted, false) as is_converted,
        coalesce(journeys.revenue, 0) as revenue,
        journeys.currency,
        epoch(journeys.ended_at) - epoch(journeys.started_at) as duration_s
    from journeys
    inner join paths using (journey_id)
),

both_levels as (
    select journey_type, * exclude (journey_type) from journey_paths
    union all
    select 'all' as journey_type, * exclude (journey_type) from journey_paths
),

aggregated as (
    select
        journey_type,
        path,
        any_value(n_steps) as n_steps,
        bool_or(is_truncated) as is_truncated,
        count(*) as n_journeys,
        count(*) filter (where is_converted) as n_converted,
        sum(revenue) as revenue,
        coalesce(string_agg(distinct currency, ',' order by currency), {{ setting('reporting_currency') }}) as currency,
        median(duration_s) as median_duration_s
    from both_levels
    group by journey_type, path
),

final as (
    select
        journey_type,
        row_number() over (partition by journey_type order by n_journeys desc, path) as rank,
        path,
        n_steps,
        is_truncated,
        n_journeys,
        n_journeys / sum(n_journeys) over (partition by journey_type) as share_of_journeys,
        n_converted,
        n_converted / n_journeys as conversion_rate,
        revenue,
        median_duration_s,
        currency
    from aggregated
)

select * from final
