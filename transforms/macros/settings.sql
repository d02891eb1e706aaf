{#
  Settings reach the models as dbt vars (transforms/dbt_vars.py builds them from the one settings
  object). setting('name') renders a var as a typed SQL literal; as_of() is the build's analysis
  time as a TIMESTAMP. A var missing at run time is an error, never a silent NULL.
#}
{% macro setting(name) -%}
    {%- set value = var(name, '__journeys_unset__') -%}
    {%- if execute and value == '__journeys_unset__' -%}
        {{ exceptions.raise_compiler_error("dbt var '" ~ name ~ "' is not set: run dbt through `journeys dbt ...`, "
                                           ~ "which passes every setting as a var") }}
    {%- endif -%}
    {{- sql_literal(value) -}}
{%- endmacro %}

{% macro as_of() -%}
    cast({{ setting('as_of') }} as timestamp)
{%- endmacro %}

{#
  A JSON-like value as a SQL literal: strings quoted, floats as DOUBLE (a bare 0.5 would be a
  DECIMAL), lists as lists, objects as structs. How a string, list or struct is spelled depends on
  the engine: macros/engine/literals.sql.
#}
{% macro sql_literal(value) -%}
    {%- if value is none -%}
        null
    {%- elif value is sameas true or value is sameas false -%}
        {{ 'true' if value else 'false' }}
    {%- elif value is integer -%}
        {{ value }}
    {%- elif value is float -%}
        cast({{ value }} as double)
    {%- elif value is string -%}
        {{ string_literal(value) }}
    {%- elif value is mapping -%}
        {%- set fields = {} -%}
        {%- for key, item in value.items() -%}
            {%- do fields.update({key: sql_literal(item)}) -%}
        {%- endfor -%}
        {{ struct_literal(fields) }}
    {%- elif value is iterable -%}
        {%- set items = [] -%}
        {%- for item in value -%}
            {%- do items.append(sql_literal(item)) -%}
        {%- endfor -%}
        {{ list_literal(items) }}
    {%- else -%}
        {{ exceptions.raise_compiler_error("setting value of unsupported type: " ~ value) }}
    {%- endif -%}
{%- endmacro %}
