{#
  What an incremental model reads on an incremental build (transforms/incremental.py holds the rule).
  `journeys build` passes each incremental model's state in the dbt var `incremental`, keyed by
  `schema.table`; a model without an entry (a plain `journeys dbt build`) re-reads everything.
#}

{# This model's entry of the `incremental` var, or none. #}
{% macro incremental_entry() -%}
    {{ return(var('incremental', {}).get(this.schema ~ '.' ~ this.identifier)) }}
{%- endmacro %}

{# The events of raw rows appended since staging's last build, and those a later as_of now takes in. #}
{% macro touched_raw_event_ids() -%}
    {%- set entry = incremental_entry() -%}
    select distinct trim(event_id) as event_id
    from {{ source('raw', 'touchpoints') }}
    {%- if entry %}
        where
            {{ physical_row_id() }} >= {{ entry['raw_from'] }}
            or occurred_at > cast({{ sql_literal(entry['previous_as_of']) }} as timestamp)
    {%- endif %}
{%- endmacro %}

{# The keys `producer` logged since this model's last build (incremental.changed_keys_sql in Python). #}
{% macro changed_keys(producer, key_type) -%}
    select key from meta.change_log
    where producer = '{{ producer }}' and key_type = '{{ key_type }}' and change_seq > {{ incremental_entry()['changes_from'] }}
{%- endmacro %}

{# A condition on `column` (a person_id): on an incremental build, the persons whose touchpoints
   changed since this model's last build; else every person. #}
{% macro changed_persons_only(column) -%}
    {%- if is_incremental() and incremental_entry() -%}
        {{ column }} in ({{ changed_keys('intermediate.int_touchpoints_stitched', 'person_id') }})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{# A hook: log the keys of `select_keys` (columns key_type, key) as replaced by this model in this build. #}
{% macro log_changes(select_keys) -%}
    {%- set entry = incremental_entry() -%}
    {%- if entry and is_incremental() -%}
        insert into meta.change_log
        select {{ entry['change_seq'] }}, '{{ this.schema }}.{{ this.identifier }}', key_type, key
        from ({{ select_keys }}) as logged
        where key is not null
    {%- endif -%}
{%- endmacro %}

{# A pre-hook of a person-grain model: delete the rows of the persons rebuilt (all rows when the
   build knows no state), so that persons merged away leave nothing behind. #}
{% macro delete_changed_persons() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ changed_persons_only('person_id') }}
    {%- endif -%}
{%- endmacro %}
