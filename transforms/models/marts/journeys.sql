{#
  Incremental (transforms/incremental.py): an incremental build replaces the journeys of the
  persons whose touchpoints changed.
#}
{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail',
          pre_hook="{{ delete_changed_persons() }}") }}

with journey_steps as (
    select * from {{ source('intermediate', 'int_journey_steps') }}
    where {{ changed_persons_only('person_id') }}
),

persons as (
    select person_id, customer_id, persona from {{ ref('int_persons') }}
    where {{ changed_persons_only('person_id') }}
),

stages as (
    select {{ ordered_list('stage', 'stage_rank') }} as stage_names, count(*) as n_stages
    from {{ source('intermediate', 'int_stages') }}
),

-- Lists are built while walking the journey (one per journey, on its first step): as list
-- aggregates here they would cost more than every other journey figure together.
journey_paths as (
    select journey_id, journey_channels as channels, journey_detours as detours
    from journey_steps
    where step_number = 1
),

aggregated as (
    select
        journey_id,
        any_value(person_id) as person_id,
        min(occurred_at) as started_at,
        max(occurred_at) as ended_at,
        count(*) as n_touchpoints,
        count(*) filter (where is_first_channel_use) as n_channels,
        min_by(channel, step_number) filter (where channel is not null) as first_channel,
        max_by(channel, step_number) filter (where channel is not null) as last_channel,
        max_by(stage_kind, step_number) as last_stage_kind,
        bit_or({{ bit_at('stage_rank') }}) as stage_ranks_reached_mask,
        max(stage_rank) as highest_stage_rank,
        bool_or(is_conversion) as is_converted,
        min(occurred_at) filter (where is_conversion) as first_converted_at,
        count(*) filter (where is_conversion) as n_conversions,
        sum(revenue) as revenue,
        coalesce({{ join_distinct_sorted('currency', "','") }}, {{ setting('reporting_currency') }}) as currency,
        count(*) filter (where not is_repeat) as n_steps,
        count(*) filter (where is_return) as n_returns,
        count(*) filter (where is_restart) as n_restarts,
        count(*) filter (where is_detour) as n_detours,
        max(cycle_number)::bigint as n_cycles,
        count(*) filter (where stage_kind = 'unmapped') as n_unmapped_touchpoints,
        min_by(stage, step_number) filter (where is_return and stage is not null) as first_return_to_stage,
        min_by(previous_highest_stage_rank, step_number) filter (where is_return and previous_highest_stage_rank is not null)
            as first_return_from_rank
    from journey_steps
    group by journey_id
),

classified as (
    select
        aggregated.*,
        journey_paths.channels,
        journey_paths.detours,
        {{ bit_positions('aggregated.stage_ranks_reached_mask', 'stages.n_stages') }} as stage_ranks_reached,
        stages.stage_names,
        aggregated.n_returns >= {{ setting('journey_complex_min_returns') }} as is_complex_by_returns,
        aggregated.n_channels >= {{ setting('journey_complex_min_channels') }} as is_complex_by_channels,
        case
            when aggregated.n_returns >= {{ setting('journey_complex_min_returns') }}
                or aggregated.n_channels >= {{ setting('journey_complex_min_channels') }} then 'complex'
            when aggregated.n_restarts >= {{ setting('journey_cyclical_min_restarts') }} then 'cyclical'
            when aggregated.n_detours >= {{ setting('journey_branching_min_detours') }} then 'branching'
            else 'linear'
        end as journey_type
    from aggregated
    inner join journey_paths on journey_paths.journey_id = aggregated.journey_id
    cross join stages
),

explained as (
    select
        *,
        {{ list_items('stage_names', 'stage_ranks_reached') }} as stages_reached,
        case journey_type
            when 'complex'
                then concat_ws(
                    '; ',
                    case
                        when is_complex_by_channels
                            then n_channels::string || ' channels: ' || {{ list_join('channels', "', '") }}
                    end,
                    case
                        when is_complex_by_returns and n_returns = 1
                            then 'returned from ' || {{ list_item('stage_names', 'first_return_from_rank') }}
                            || ' to ' || first_return_to_stage || ' before converting'
                        when is_complex_by_returns
                            then n_returns::string || ' returns to an earlier stage before converting, the first from '
                            || {{ list_item('stage_names', 'first_return_from_rank') }} || ' to ' || first_return_to_stage
                    end
                )
            when 'cyclical'
                then n_restarts::string || ' restart' || case when n_restarts = 1 then '' else 's' end
                || ' after conversion (' || n_cycles::string || ' cycles)'
            when 'branching'
                then n_detours::string || ' detour' || case when n_detours = 1 then '' else 's' end
                || ': ' || {{ list_join('detours', "', '") }}
            else
                case
                    when n_touchpoints = 1 then 'single touchpoint'
                    when highest_stage_rank is null then 'no touchpoint maps to a stage'
                    else 'one forward path'
                end
        end as classification_reason
    from classified
),

final as (
    select
        explained.journey_id,
        explained.person_id,
        persons.customer_id,
        persons.persona,
        explained.started_at,
        explained.ended_at,
        explained.n_touchpoints,
        explained.channels,
        {{ list_join('explained.channels', "' > '") }} as channels_text,
        explained.n_channels,
        explained.first_channel,
        explained.last_channel,
        explained.last_stage_kind,
        explained.stages_reached,
        {{ list_join('explained.stages_reached', "' > '") }} as stages_reached_text,
        {{ list_item('explained.stage_names', 'explained.highest_stage_rank') }} as highest_stage,
        explained.highest_stage_rank,
        explained.is_converted,
        explained.first_converted_at,
        {{ seconds_between('explained.started_at', 'explained.first_converted_at') }} as time_to_convert_s,
        explained.n_conversions,
        explained.revenue,
        explained.currency,
        explained.journey_type,
        explained.classification_reason,
        explained.n_steps,
        explained.n_returns,
        explained.n_restarts,
        explained.n_detours,
        explained.n_cycles,
        explained.n_unmapped_touchpoints
    from explained
    left join persons on persons.person_id = explained.person_id
)

select * from final
