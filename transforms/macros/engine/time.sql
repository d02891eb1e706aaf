{#
  Time arithmetic that each engine spells its own way. Every macro dispatches on the adapter
  (adapter.dispatch): duckdb__ holds DuckDB's SQL, spark__ Spark's; any other engine stops the
  compile with an error until it has its own version. README.md in this folder lists them all.
#}

{# Seconds from start_at to end_at: a DOUBLE, with the microseconds as its fraction (NULL if either is NULL). #}
{% macro seconds_between(start_at, end_at) -%}
    {{ return(adapter.dispatch('seconds_between', 'customer_journeys')(start_at, end_at)) }}
{%- endmacro %}

{% macro duckdb__seconds_between(start_at, end_at) -%}
    ((epoch_us({{ end_at }}) - epoch_us({{ start_at }})) / 1000000)
{%- endmacro %}

{% macro spark__seconds_between(start_at, end_at) -%}
    ((unix_micros({{ end_at }}) - unix_micros({{ start_at }})) / 1000000)
{%- endmacro %}

{% macro default__seconds_between(start_at, end_at) -%}
    {{ exceptions.raise_compiler_error("seconds_between is not implemented for " ~ target.type) }}
{%- endmacro %}


{# Calendar months from start's month to end's month (month boundaries crossed, not whole months elapsed): a BIGINT. #}
{% macro calendar_months_between(start_at, end_at) -%}
    {{ return(adapter.dispatch('calendar_months_between', 'customer_journeys')(start_at, end_at)) }}
{%- endmacro %}

{% macro duckdb__calendar_months_between(start_at, end_at) -%}
    datediff('month', {{ start_at }}, {{ end_at }})
{%- endmacro %}

{% macro spark__calendar_months_between(start_at, end_at) -%}
    cast((year({{ end_at }}) * 12 + month({{ end_at }})) - (year({{ start_at }}) * 12 + month({{ start_at }})) as bigint)
{%- endmacro %}

{% macro default__calendar_months_between(start_at, end_at) -%}
    {{ exceptions.raise_compiler_error("calendar_months_between is not implemented for " ~ target.type) }}
{%- endmacro %}


{# A date's month as text, 'YYYY-MM' (NULL for NULL). #}
{% macro year_month(date) -%}
    {{ return(adapter.dispatch('year_month', 'customer_journeys')(date)) }}
{%- endmacro %}

{% macro duckdb__year_month(date) -%}
    strftime({{ date }}, '%Y-%m')
{%- endmacro %}

{% macro spark__year_month(date) -%}
    date_format({{ date }}, 'yyyy-MM')
{%- endmacro %}

{% macro default__year_month(date) -%}
    {{ exceptions.raise_compiler_error("year_month is not implemented for " ~ target.type) }}
{%- endmacro %}


{# A TIMESTAMP later than every real one, standing for "not ended yet" in a max(). #}
{% macro end_of_time() -%}
    {{ return(adapter.dispatch('end_of_time', 'customer_journeys')()) }}
{%- endmacro %}

{% macro duckdb__end_of_time() -%}
    'infinity'::timestamp
{%- endmacro %}

{% macro spark__end_of_time() -%}
    timestamp'9999-12-31 23:59:59.999999'
{%- endmacro %}

{% macro default__end_of_time() -%}
    {{ exceptions.raise_compiler_error("end_of_time is not implemented for " ~ target.type) }}
{%- endmacro %}
