{#
  The breakdowns of the metrics marts (marts.conversion, stage_funnel, churn_monthly,
  cohort_retention): a cross join that repeats every input row once per breakdown, as `slice`
  (slice.breakdown, slice.breakdown_value). overall (value 'all') always comes first. A NULL
  attribute shows as '(none)' instead of dropping out, so each breakdown's counts add up to
  overall's; cohort_month, a date, becomes 'YYYY-MM', since breakdown_value is text.
  Each argument is the SQL expression of that attribute in the calling model, which keeps its own
  meaning (first_channel is the journey's first touch in conversion, the person's in churn_monthly);
  an attribute left out is not a breakdown of that model. The breakdowns always come in this order,
  whatever order they are passed in.
#}
{% macro breakdown_slices(first_channel=none, last_touch_channel=none, journey_type=none, cohort_month=none, persona=none) -%}
    {%- set attributes = [
        ('first_channel', first_channel),
        ('last_touch_channel', last_touch_channel),
        ('journey_type', journey_type),
        ('cohort_month', year_month(cohort_month) if cohort_month is not none else none),
        ('persona', persona),
    ] -%}
    cross join unnest([
        {'breakdown': 'overall', 'breakdown_value': 'all'}
        {%- for name, expression in attributes if expression is not none %},
        {'breakdown': '{{ name }}', 'breakdown_value': coalesce({{ expression }}, '(none)')}
        {%- endfor %}
    ]) as slices(slice)
{%- endmacro %}
