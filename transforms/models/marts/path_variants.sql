with path_steps as (
    select journey_id, path_step_number, event_type
    from {{ ref('path_steps') }}
),

journeys as (
    select journey_id, journey_type, is_converted, revenue, currency, started_at, ended_at from {{ ref('journeys') }}
),

paths as (
    select journey_id, {{ ordered_list('event_type', 'path_step_number') }} as steps
    from path_steps
    group by journey_id
),

journey_paths as (
    select
        journeys.journey_id,
        coalesce(journeys.journey_type, '(none)') as journey_type,
        least({{ list_length('paths.steps') }}, {{ setting('path_variant_max_steps') }}) as n_steps,
        {{ list_length('paths.steps') }} > {{ setting('path_variant_max_steps') }} as is_truncated,
        case
            when {{ list_length('paths.steps') }} > {{ setting('path_variant_max_steps') }}
                then {{ list_join(list_head('paths.steps', setting('path_variant_max_steps')), "' > '") }} || ' > ...'
            else {{ list_join('paths.steps', "' > '") }}
        end as path,
        coalesce(journeys.is_converted, false) as is_converted,
        coalesce(journeys.revenue, 0) as revenue,
        journeys.currency,
        {{ seconds_between('journeys.started_at', 'journeys.ended_at') }} as duration_s
    from journeys
    inner join paths using (journey_id)
),

both_levels as (
    select journey_type, path, n_steps, is_truncated, is_converted, revenue, currency, duration_s from journey_paths
    union all
    select 'all' as journey_type, path, n_steps, is_truncated, is_converted, revenue, currency, duration_s from journey_paths
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
        coalesce({{ join_distinct_sorted('currency', "','") }}, {{ setting('reporting_currency') }}) as currency,
        median(duration_s) as median_duration_s
    from both_levels
    group by journey_type, path
),

final as (
    select
        journey_type,
        (row_number() over (partition by journey_type order by n_journeys desc, path))::bigint as rank,
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
