{#
  The events int_touchpoints_stitched rebuilds on an incremental build: the staged events that
  changed, and the events carrying an identifier whose person (or sharedness) changed. The model
  keeps them in its candidates table (macros/incremental.sql) for its build.
#}

{% macro stitch_candidate_events() -%}
    select event_id from {{ ref('stg_touchpoints') }}
    {%- if incremental_entry() %}
        where event_id in ({{ changed_keys('staging.stg_touchpoints', 'event_id') }})
        {%- for identifier in identifiers_by_durability() %}
            or {{ identifier }} in ({{ changed_keys('intermediate.int_identity_map', identifier) }})
        {%- endfor %}
    {%- endif %}
{%- endmacro %}

{# The persons of the candidates' rows in the model as it stands (before the build: old persons; after: new ones). #}
{% macro persons_of_candidates() -%}
    select distinct 'person_id' as key_type, person_id as key
    from {{ this }}
    where event_id in (select event_id from {{ candidates() }})
{%- endmacro %}
