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

{# The keys this model rebuilds on an incremental build (the result of `select_keys`), kept in a
   meta table for the build (its hooks and its SQL read it) and dropped by drop_candidates. #}
{% macro candidates_table(select_keys) -%}
    {%- if is_incremental() -%}
        create or replace table {{ candidates() }} as {{ select_keys }}
    {%- endif -%}
{%- endmacro %}

{% macro candidates() -%}
    meta.{{ this.identifier }}_candidates
{%- endmacro %}

{% macro drop_candidates() -%}
    {%- if is_incremental() -%}
        drop table if exists {{ candidates() }}
    {%- endif -%}
{%- endmacro %}

{# The keys `producer` logged since this model's last build (incremental.changed_keys_sql in Python). #}
{% macro changed_keys(producer, key_type) -%}
    select key from meta.change_log
    where producer = '{{ producer }}' and key_type = '{{ key_type }}' and change_seq > {{ incremental_entry()['changes_from'] }}
{%- endmacro %}

{# The identifiers (identifier_type, identifier_value) `producer` logged since this model's last build. #}
{% macro changed_identifiers(producer) -%}
    select distinct key_type as identifier_type, key as identifier_value from meta.change_log
    where producer = '{{ producer }}' and key_type not in ('event_id', 'person_id')
        and change_seq > {{ incremental_entry()['changes_from'] }}
{%- endmacro %}

{# The identifiers of the events in this model's candidates, as (key_type, key) rows to log: run
   before the build (the values replaced) and after it (the values now staged). One scan of the
   candidates' rows, unpivoted (UNPIVOT leaves out NULLs). #}
{% macro identifiers_of_candidates() -%}
    {%- set identifiers = identifiers_by_durability() | join(', ') -%}
    select distinct key_type, key
    from (
        select {{ identifiers }}
        from {{ this }}
        where event_id in (select event_id from {{ candidates() }})
    ) as candidate_events
    unpivot (key for key_type in ({{ identifiers }}))
{%- endmacro %}

{# A pre-hook of an identifier-grain model: delete the rows whose identifier (in `type_column`,
   `value_column`) changed since its last build (all rows when the build knows no state). #}
{% macro delete_changed_identifiers(type_column, value_column) -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ changed_identifier_pair_only(type_column, value_column) }}
    {%- endif -%}
{%- endmacro %}

{# A condition on an identifier column (`column`, of type `identifier_type`): on an incremental
   build, its value is one staging logged since this model's last build; else always true. #}
{% macro changed_identifier_only(column, identifier_type) -%}
    {%- if is_incremental() and incremental_entry() -%}
        {{ column }} in ({{ changed_keys('staging.stg_touchpoints', identifier_type) }})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{# The same for an (identifier_type, identifier_value) pair of columns. #}
{% macro changed_identifier_pair_only(type_column, value_column) -%}
    {%- if is_incremental() and incremental_entry() -%}
        ({{ type_column }}, {{ value_column }}) in ({{ changed_identifiers('staging.stg_touchpoints') }})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{# A condition on an event's identifier columns: it carries an identifier staging logged since this
   model's last build (on an incremental build; else always true). #}
{% macro carries_changed_identifier() -%}
    {%- if is_incremental() and incremental_entry() -%}
        (
        {%- for identifier in identifiers_by_durability() %}
            {{ 'or ' if not loop.first }}{{ changed_identifier_only(identifier, identifier) }}
        {%- endfor %}
        )
    {%- else -%}
        true
    {%- endif -%}
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

{# A pre-hook of an event-grain model: delete the rows of the events in its candidates, which the
   build then inserts again (dbt's append; delete+insert is DuckDB's only, and Spark's file tables
   have neither: there every build is a full one). #}
{% macro delete_candidate_events() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where event_id in (select event_id from {{ candidates() }})
    {%- endif -%}
{%- endmacro %}
