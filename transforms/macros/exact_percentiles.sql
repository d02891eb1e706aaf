{#
  Exact percentiles per group for groups too large for percentile_cont: a query with the `group_by`
  columns and one column per entry of `percentiles` ({output column: fraction}), from the non-NULL
  values of `value` in `relation` (a CTE or table name). Groups without a non-NULL value are absent;
  join the result on the group columns.

  Why not percentile_cont: it is a holistic aggregate that holds every value of a group in memory,
  outside what DuckDB can spill; stage_funnel's few groups of millions of journeys ran out of
  memory under a 2 GB limit at 100M events. This ranks the values with a window (a sort, which
  spills) and reads the two neighbours of each position. The result is percentile_cont's, by the
  same interpolation (to a relative 1e-12: the engines round it their own ways in the last bits):
  with n values in order, h = (n - 1) * fraction and d = h - floor(h), the values at 1-based ranks
  floor(h) + 1 and ceil(h) + 1 weighted (1 - d) and d (the lower one alone when d = 0, so an
  infinite value gives no NaN).
    {{ exact_percentiles('transitions', ['breakdown', 'stage_rank'], 'time_to_next_s',
                         {'median_time_to_next_s': 0.5, 'p90_time_to_next_s': 0.9}) }}
#}
{% macro exact_percentiles(relation, group_by, value, percentiles) -%}
    {%- set groups = group_by | join(', ') -%}
    select
        {{ groups }},
        {%- for name in percentiles %}
        case
            when {{ name }}__fraction = 0 then {{ name }}__below
            else {{ name }}__below * (1 - {{ name }}__fraction) + {{ name }}__above * {{ name }}__fraction
        end as {{ name }}
        {{- ',' if not loop.last }}
        {%- endfor %}
    from (
        select
            {{ groups }},
            {%- for name, fraction in percentiles.items() %}
            {%- set position = '(n_values - 1) * cast(' ~ fraction ~ ' as double)' %}
            max(case when value_rank = floor({{ position }}) + 1 then ranked_value end) as {{ name }}__below,
            max(case when value_rank = ceil({{ position }}) + 1 then ranked_value end) as {{ name }}__above,
            max({{ position }} - floor({{ position }})) as {{ name }}__fraction
            {{- ',' if not loop.last }}
            {%- endfor %}
        from (
            select
                {{ groups }},
                {{ value }} as ranked_value,
                row_number() over (partition by {{ groups }} order by {{ value }}) as value_rank,
                count(*) over (partition by {{ groups }}) as n_values
            from {{ relation }}
            where {{ value }} is not null
        ) as ranked
        group by {{ groups }}
    ) as neighbours
{%- endmacro %}
