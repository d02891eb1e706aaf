{#
  Aggregates that depend on the order of the group's rows, which each engine spells its own way
  (dispatched like time.sql: duckdb__ and spark__ hold each engine's SQL, other engines raise
  until they have theirs). order_by is an ORDER BY list: 'churned_at, reason'.
#}

{# Aggregate: the group's values of expression as a list, in order_by order, NULLs kept. #}
{% macro ordered_list(expression, order_by) -%}
    {{ return(adapter.dispatch('ordered_list', 'customer_journeys')(expression, order_by)) }}
{%- endmacro %}

{% macro duckdb__ordered_list(expression, order_by) -%}
    list({{ expression }} order by {{ order_by }})
{%- endmacro %}

{# Spark: a list of (order_by..., value) structs, sorted, then the values (collect_list alone drops NULLs and keeps no order).
   A NULL sort key sorts first in Spark's struct comparison, last in DuckDB's ORDER BY: the models' keys are never NULL. #}
{% macro spark__ordered_list(expression, order_by) -%}
    transform(array_sort(collect_list(struct({{ order_by }}, {{ expression }} as ordered_value))), ordered -> ordered.ordered_value)
{%- endmacro %}

{% macro default__ordered_list(expression, order_by) -%}
    {{ exceptions.raise_compiler_error("ordered_list is not implemented for " ~ target.type) }}
{%- endmacro %}


{# Aggregate: expression on the group's first row in order_by order, even when it is NULL (min_by would skip NULLs). #}
{% macro first_ordered(expression, order_by) -%}
    {{ return(adapter.dispatch('first_ordered', 'customer_journeys')(expression, order_by)) }}
{%- endmacro %}

{% macro duckdb__first_ordered(expression, order_by) -%}
    first({{ expression }} order by {{ order_by }})
{%- endmacro %}

{# Spark: min_by keeps a NULL value (DuckDB's skips it); the same NULL-key caveat as ordered_list. #}
{% macro spark__first_ordered(expression, order_by) -%}
    min_by({{ expression }}, struct({{ order_by }}))
{%- endmacro %}

{% macro default__first_ordered(expression, order_by) -%}
    {{ exceptions.raise_compiler_error("first_ordered is not implemented for " ~ target.type) }}
{%- endmacro %}
