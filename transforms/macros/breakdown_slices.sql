{#
  The breakdowns of the metrics marts (marts.conversion, stage_funnel, churn_monthly,
  cohort_retention): every input row repeated once per breakdown. Two pieces of SQL for the calling
  model, from one list of attributes:
    cross_join       goes after the model's from and joins: `cross join (values ...) as slices (breakdown)`,
                     one row per breakdown name;
    breakdown_value  the row's value in slices.breakdown, to select `as breakdown_value`.
  as in
    {%- set slicing = breakdown_slices(first_channel='first_channel', persona='persona') %}
    select slices.breakdown, {{ slicing.breakdown_value }} as breakdown_value, ...
    from ... {{ slicing.cross_join }}
  overall (value 'all') always comes first. A NULL attribute shows as '(none)' instead of dropping
  out, so each breakdown's counts add up to overall's; cohort_month, a date, becomes 'YYYY-MM', since
  breakdown_value is text. Each argument is the SQL expression of that attribute in the calling model,
  which keeps its own meaning (first_channel is the journey's first touch in conversion, the person's
  in churn_monthly); an attribute left out is not a breakdown of that model. The breakdowns always
  come in this order, whatever order they are passed in.
#}
{% macro breakdown_slices(first_channel=none, last_touch_channel=none, journey_type=none, cohort_month=none, persona=none) -%}
    {%- set attributes = [
        ('first_channel', first_channel),
        ('last_touch_channel', last_touch_channel),
        ('journey_type', journey_type),
        ('cohort_month', year_month(cohort_month) if cohort_month is not none else none),
        ('persona', persona),
    ] -%}
    {%- set slices = [('overall', "'all'")] -%}
    {%- for name, expression in attributes if expression is not none -%}
        {%- do slices.append((name, "coalesce(" ~ expression ~ ", '(none)')")) -%}
    {%- endfor -%}
    {%- set breakdown_value -%}
        case slices.breakdown
            {%- for name, value in slices %}
            when '{{ name }}' then {{ value }}
            {%- endfor %}
        end
    {%- endset -%}
    {%- set cross_join -%}
        cross join (values {% for name, value in slices %}('{{ name }}'){{ ', ' if not loop.last }}{% endfor %}) as slices (breakdown)
    {%- endset -%}
    {{ return({'breakdown_value': breakdown_value, 'cross_join': cross_join}) }}
{%- endmacro %}
