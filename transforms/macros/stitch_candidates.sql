{#
  The events int_touchpoints_stitched rebuilds on an incremental build: the staged events that
  changed, and the events carrying an identifier whose person (or sharedness) changed. Kept in
  meta.stitch_candidates for the build of the model (its hooks and its SQL read it), then dropped.
#}

{% macro stitch_candidates_table() -%}
    {%- if is_incremental() -%}
        create or replace table meta.stitch_candidates as
        select event_id from {{ ref('stg_touchpoints') }}
        {%- if incremental_entry() %}
            where event_id in ({{ changed_keys('staging.stg_touchpoints', 'event_id') }})
            {%- for identifier in identifiers_by_durability() %}
                or {{ identifier }} in ({{ changed_keys('intermediate.int_identity_map', identifier) }})
            {%- endfor %}
        {%- endif %}
    {%- endif -%}
{%- endmacro %}

{# The persons of the candidates' rows in the model as it stands (before the build: old persons; after: new ones). #}
{% macro persons_of_stitch_candidates() -%}
    select distinct 'person_id' as key_type, person_id as key
    from {{ this }}
    where event_id in (select event_id from meta.stitch_candidates)
{%- endmacro %}

{% macro delete_stitch_candidates() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where event_id in (select event_id from meta.stitch_candidates)
    {%- endif -%}
{%- endmacro %}

{% macro drop_stitch_candidates() -%}
    {%- if is_incremental() -%}
        drop table if exists meta.stitch_candidates
    {%- endif -%}
{%- endmacro %}
