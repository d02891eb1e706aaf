{#
  Whether a journey step is something the customer did, the activity rule of churn and lifecycle:
  a conversion always; otherwise any step that is neither an exit nor one of passive_event_types
  (ads shown, e-mails sent, renewal notices: sent to the customer, not done by them).
#}
{% macro is_activity(is_conversion='is_conversion', stage_kind='stage_kind', event_type='event_type') -%}
    ({{ is_conversion }}
        or ({{ stage_kind }} <> 'exit'
            and not coalesce(array_contains({{ setting('passive_event_types') }}, {{ event_type }}), false)))
{%- endmacro %}
