{#
  Settings reach the models as dbt vars (transforms/dbt_vars.py builds them from the one settings
  object). setting('name') renders a var as a typed SQL literal; as_of() is the build's analysis
  time as a TIMESTAMP. A var missing at run time is an error, never a silent NULL.
#}
{% macro setting(name) -%}
    {%- set value = var(name, '__journeys_unset__') -%}
    {%- if execute and value == '__journeys_unset__' -%}
        {{ exceptions.raise_compiler_error("dbt var '" ~ name ~ "' is not set: run dbt through `journeys dbt ...`, which passes every setting as a var") }}
    {%- endif -%}
    {{- sql_literal(value) -}}
{%- endmacro %}

{% macro as_of() -%}
    cast({{ setting('as_of') }} as timestamp)
{%- endmacro %}

{#
  A JSON-like value as a SQL literal: strings quoted, floats as DOUBLE (a bare 0.5 would be a
  DECIMAL), lists as lists, objects as structs.
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
        '{{ value | replace("'", "''") }}'
    {%- elif value is mapping -%}
        { {%- for key, item in value.items() -%} '{{ key | replace("'", "''") }}': {{ sql_literal(item) }}{{ ", " if not loop.last }} {%- endfor -%} }
    {%- elif value is iterable -%}
        {%- if value | length == 0 -%}
            cast([] as varchar[])
        {%- else -%}
            [ {%- for item in value -%} {{ sql_literal(item) }}{{ ", " if not loop.last }} {%- endfor -%} ]
        {%- endif -%}
    {%- else -%}
        {{ exceptions.raise_compiler_error("setting value of unsupported type: " ~ value) }}
    {%- endif -%}
{%- endmacro %}
