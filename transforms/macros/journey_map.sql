{#
  How many touchpoints per persona marts.journey_map flags as a top drop-off and as a long dwell:
  the three where the most journeys stopped, the three with the longest median dwell. A fixed few,
  because a map is read by people: a flag on every touchpoint above some average is no flag.
#}
{% macro journey_map_top_n() -%}
    3
{%- endmacro %}
