{#
  Text functions that each engine spells its own way (dispatched like time.sql: duckdb__ and spark__ hold
  each engine's SQL, other engines raise until they have theirs).
#}

{# Whether the whole of text matches the regular expression pattern (not just a part): a BOOLEAN, NULL for NULL text. #}
{% macro regex_full_match(text, pattern) -%}
    {{ return(adapter.dispatch('regex_full_match', 'customer_journeys')(text, pattern)) }}
{%- endmacro %}

{% macro duckdb__regex_full_match(text, pattern) -%}
    regexp_full_match({{ text }}, {{ pattern }})
{%- endmacro %}

{% macro spark__regex_full_match(text, pattern) -%}
    regexp_like({{ text }}, concat('^(?:', {{ pattern }}, ')$'))
{%- endmacro %}

{% macro default__regex_full_match(text, pattern) -%}
    {{ exceptions.raise_compiler_error("regex_full_match is not implemented for " ~ target.type) }}
{%- endmacro %}


{# Aggregate: the group's distinct non-NULL values of expression, sorted, joined by separator: text, NULL when there are none. #}
{% macro join_distinct_sorted(expression, separator) -%}
    {{ return(adapter.dispatch('join_distinct_sorted', 'customer_journeys')(expression, separator)) }}
{%- endmacro %}

{% macro duckdb__join_distinct_sorted(expression, separator) -%}
    string_agg(distinct {{ expression }}, {{ separator }} order by {{ expression }})
{%- endmacro %}

{% macro spark__join_distinct_sorted(expression, separator) -%}
    case when count({{ expression }}) > 0 then array_join(array_sort(collect_set({{ expression }})), {{ separator }}) end
{%- endmacro %}

{% macro default__join_distinct_sorted(expression, separator) -%}
    {{ exceptions.raise_compiler_error("join_distinct_sorted is not implemented for " ~ target.type) }}
{%- endmacro %}


{# A list's elements as one text, in list order, joined by separator; NULL elements are left out. #}
{% macro list_join(list, separator) -%}
    {{ return(adapter.dispatch('list_join', 'customer_journeys')(list, separator)) }}
{%- endmacro %}

{% macro duckdb__list_join(list, separator) -%}
    array_to_string({{ list }}, {{ separator }})
{%- endmacro %}

{% macro spark__list_join(list, separator) -%}
    array_join({{ list }}, {{ separator }})
{%- endmacro %}

{% macro default__list_join(list, separator) -%}
    {{ exceptions.raise_compiler_error("list_join is not implemented for " ~ target.type) }}
{%- endmacro %}
