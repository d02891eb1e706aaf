{#
  Exact percentiles per group for groups too large for percentile_cont, in one pass over the rows:
  `percentile_ranks` adds two window columns to a select, and `exact_percentile` is the aggregate
  that reads them in the query grouped by the same columns:

    ranked as (
        select transitions.*, {{ percentile_ranks('time_to_next_s', ['breakdown', 'stage_rank']) }}
        from transitions
    ),
    ... select breakdown, stage_rank, count(*) as n_journeys,
               {{ exact_percentile('time_to_next_s', 0.5) }} as median_time_to_next_s
        from ranked group by breakdown, stage_rank

  `value` is a column name (the window columns are named after it). NULL values are left out, as
  percentile_cont leaves them out; a group without a non-NULL value gets NULL.

  Why not percentile_cont (or median): it is a holistic aggregate that holds every value of a group
  in memory, outside what DuckDB can spill; stage_funnel's few groups of millions of journeys ran out
  of memory under a 2 GB limit at 100M events. This ranks the values with a window (a sort, which
  spills) and reads the two neighbours of each position. Why one pass, with the aggregate in the
  caller's grouped query, rather than a separate percentile query joined back: a CTE read by two
  queries is materialized by DuckDB, and at 100M events step_transitions' 26M transitions, held that
  way while they were grouped and ranked, ran out of memory where the single pass does not.

  The result is percentile_cont's, by the same interpolation (to a relative 1e-12: the engines round
  it their own ways in the last bits): with n values in order, h = (n - 1) * fraction and
  d = h - floor(h), the values at 1-based ranks floor(h) + 1 and ceil(h) + 1 weighted (1 - d) and d
  (the lower one alone when d = 0, so an infinite value gives no NaN).
#}
{% macro percentile_ranks(value, group_by) -%}
    {%- set groups = group_by | join(', ') -%}
    row_number() over (partition by {{ groups }} order by {{ value }} asc nulls last) as {{ value }}__rank,
    count({{ value }}) over (partition by {{ groups }}) as {{ value }}__n
{%- endmacro %}

{% macro exact_percentile(value, fraction) -%}
    {%- set position = '(' ~ value ~ '__n - 1) * cast(' ~ fraction ~ ' as double)' -%}
    {%- set below = 'max(case when ' ~ value ~ '__rank = floor(' ~ position ~ ') + 1 then ' ~ value ~ ' end)' -%}
    {%- set above = 'max(case when ' ~ value ~ '__rank = ceil(' ~ position ~ ') + 1 then ' ~ value ~ ' end)' -%}
    {%- set weight = 'max(' ~ position ~ ' - floor(' ~ position ~ '))' -%}
    case
        when {{ weight }} = 0 then {{ below }}
        else {{ below }} * (1 - {{ weight }}) + {{ above }} * {{ weight }}
    end
{%- endmacro %}
