{#
  How a query reads its tables, where engines differ (dispatched like time.sql: duckdb__ and spark__ hold
  each engine's SQL).
#}

{# A value that tells apart every row of the table being read, even two identical copies: DuckDB's rowid (a BIGINT);
   on Spark the file and the row's position in it (a string: the tables are Parquet files). #}
{% macro physical_row_id() -%}
    {{ return(adapter.dispatch('physical_row_id', 'customer_journeys')()) }}
{%- endmacro %}

{% macro duckdb__physical_row_id() -%}
    rowid
{%- endmacro %}

{% macro spark__physical_row_id() -%}
    concat(_metadata.file_path, '#', cast(_metadata.row_index as string))
{%- endmacro %}

{% macro default__physical_row_id() -%}
    {{ exceptions.raise_compiler_error("physical_row_id is not implemented for " ~ target.type) }}
{%- endmacro %}


{# The `as` between a CTE's name and its body, asking the planner to inline the CTE where it is read; a hint,
   so engines without one get a plain `as`. #}
{% macro inline_cte() -%}
    {{ return(adapter.dispatch('inline_cte', 'customer_journeys')()) }}
{%- endmacro %}

{% macro duckdb__inline_cte() -%}
    as not materialized
{%- endmacro %}

{% macro default__inline_cte() -%}
    as
{%- endmacro %}
