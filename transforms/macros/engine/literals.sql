{#
  Literals, for the settings that reach the models through setting(): macros/settings.sql decides
  what each value is, these spell it for the engine (dispatched like time.sql: duckdb__ and spark__
  hold each engine's SQL, other engines raise until they have theirs).
#}

{# Text as a string literal. DuckDB doubles a quote and keeps backslashes; Spark's default parser reads
   backslash escapes (identifier_placeholder_pattern holds some). #}
{% macro string_literal(text) -%}
    {{ return(adapter.dispatch('string_literal', 'customer_journeys')(text)) }}
{%- endmacro %}

{% macro duckdb__string_literal(text) -%}
    '{{ text | replace("'", "''") }}'
{%- endmacro %}

{% macro spark__string_literal(text) -%}
    '{{ text | replace("\\", "\\\\") | replace("'", "\\'") }}'
{%- endmacro %}

{% macro default__string_literal(text) -%}
    {{ exceptions.raise_compiler_error("string_literal is not implemented for " ~ target.type) }}
{%- endmacro %}


{# A list of items (SQL values, already rendered), in order; an empty list is a list of text. #}
{% macro list_literal(items) -%}
    {{ return(adapter.dispatch('list_literal', 'customer_journeys')(items)) }}
{%- endmacro %}

{% macro duckdb__list_literal(items) -%}
    {%- if items | length == 0 -%}
        cast([] as varchar[])
    {%- else -%}
        [{{ items | join(', ') }}]
    {%- endif -%}
{%- endmacro %}

{% macro spark__list_literal(items) -%}
    {%- if items | length == 0 -%}
        cast(array() as array<string>)
    {%- else -%}
        array({{ items | join(', ') }})
    {%- endif -%}
{%- endmacro %}

{% macro default__list_literal(items) -%}
    {{ exceptions.raise_compiler_error("list_literal is not implemented for " ~ target.type) }}
{%- endmacro %}


{# A struct with one field per entry of fields (field name -> SQL value, already rendered), in order. #}
{% macro struct_literal(fields) -%}
    {{ return(adapter.dispatch('struct_literal', 'customer_journeys')(fields)) }}
{%- endmacro %}

{% macro duckdb__struct_literal(fields) -%}
    {%- set entries = [] -%}
    {%- for name, value in fields.items() -%}
        {%- do entries.append("'" ~ name | replace("'", "''") ~ "': " ~ value) -%}
    {%- endfor -%}
    { {{- entries | join(', ') -}} }
{%- endmacro %}

{% macro spark__struct_literal(fields) -%}
    {%- set entries = [] -%}
    {%- for name, value in fields.items() -%}
        {%- do entries.append(spark__string_literal(name) ~ ", " ~ value) -%}
    {%- endfor -%}
    named_struct({{ entries | join(', ') }})
{%- endmacro %}

{% macro default__struct_literal(fields) -%}
    {{ exceptions.raise_compiler_error("struct_literal is not implemented for " ~ target.type) }}
{%- endmacro %}
