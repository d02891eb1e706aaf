{#
  A path step is a run of consecutive touchpoints of one event type: keep the first touchpoint of
  each run. path_variants, step_transitions and pain_points all read a journey's path this way, so
  a path and its transitions always count the same steps. `steps` has journey_id, step_number and
  event_type.
#}
{% macro collapse_event_type_repeats(steps) -%}
    select *
    from (
        select *, lag(event_type) over (partition by journey_id order by step_number) as previous_event_type
        from {{ steps }}
    ) as with_previous_event_type
    where event_type is distinct from previous_event_type
{%- endmacro %}
