{#
  Lists (arrays) and the rows made from them, which each engine spells its own way (dispatched like
  time.sql: duckdb__ and spark__ hold each engine's SQL, other engines raise until they have
  theirs). Positions are 1-based, as in the models.
#}

{# The number of elements of a list: a BIGINT. #}
{% macro list_length(list) -%}
    {{ return(adapter.dispatch('list_length', 'customer_journeys')(list)) }}
{%- endmacro %}

{% macro duckdb__list_length(list) -%}
    len({{ list }})
{%- endmacro %}

{% macro spark__list_length(list) -%}
    cast(size({{ list }}) as bigint)
{%- endmacro %}

{% macro default__list_length(list) -%}
    {{ exceptions.raise_compiler_error("list_length is not implemented for " ~ target.type) }}
{%- endmacro %}


{# The element at a 1-based position of a list (NULL for a NULL or out-of-range position). #}
{% macro list_item(list, position) -%}
    {{ return(adapter.dispatch('list_item', 'customer_journeys')(list, position)) }}
{%- endmacro %}

{% macro duckdb__list_item(list, position) -%}
    {{ list }}[{{ position }}]
{%- endmacro %}

{% macro spark__list_item(list, position) -%}
    try_element_at({{ list }}, cast({{ position }} as int))
{%- endmacro %}

{% macro default__list_item(list, position) -%}
    {{ exceptions.raise_compiler_error("list_item is not implemented for " ~ target.type) }}
{%- endmacro %}


{# The elements of a list at each 1-based position of positions, in the order of positions: a list. #}
{% macro list_items(list, positions) -%}
    {{ return(adapter.dispatch('list_items', 'customer_journeys')(list, positions)) }}
{%- endmacro %}

{% macro duckdb__list_items(list, positions) -%}
    list_transform({{ positions }}, lambda r: {{ list }}[r])
{%- endmacro %}

{% macro spark__list_items(list, positions) -%}
    transform({{ positions }}, r -> try_element_at({{ list }}, cast(r as int)))
{%- endmacro %}

{% macro default__list_items(list, positions) -%}
    {{ exceptions.raise_compiler_error("list_items is not implemented for " ~ target.type) }}
{%- endmacro %}


{# The first n elements of a list (all of them when it is shorter): a list. #}
{% macro list_head(list, n) -%}
    {{ return(adapter.dispatch('list_head', 'customer_journeys')(list, n)) }}
{%- endmacro %}

{% macro duckdb__list_head(list, n) -%}
    {{ list }}[1:{{ n }}]
{%- endmacro %}

{% macro spark__list_head(list, n) -%}
    slice({{ list }}, 1, {{ n }})
{%- endmacro %}

{% macro default__list_head(list, n) -%}
    {{ exceptions.raise_compiler_error("list_head is not implemented for " ~ target.type) }}
{%- endmacro %}


{# An unsigned 64-bit integer with only bit `position` (0-63) set, to bit_or() into a mask. #}
{% macro bit_at(position) -%}
    {{ return(adapter.dispatch('bit_at', 'customer_journeys')(position)) }}
{%- endmacro %}

{% macro duckdb__bit_at(position) -%}
    1::ubigint << {{ position }}
{%- endmacro %}

{% macro spark__bit_at(position) -%}
    shiftleft(cast(1 as bigint), {{ position }})
{%- endmacro %}

{% macro default__bit_at(position) -%}
    {{ exceptions.raise_compiler_error("bit_at is not implemented for " ~ target.type) }}
{%- endmacro %}


{# The positions 1..n_bits whose bit is set in a bit_at() mask, ascending: a list of BIGINTs. #}
{% macro bit_positions(mask, n_bits) -%}
    {{ return(adapter.dispatch('bit_positions', 'customer_journeys')(mask, n_bits)) }}
{%- endmacro %}

{% macro duckdb__bit_positions(mask, n_bits) -%}
    list_filter(range(1, {{ n_bits }} + 1), lambda r: coalesce(({{ mask }} >> r) & 1 = 1, false))
{%- endmacro %}

{% macro spark__bit_positions(mask, n_bits) -%}
    filter(sequence(cast(1 as bigint), cast({{ n_bits }} as bigint)), r -> coalesce(shiftright({{ mask }}, cast(r as int)) & 1 = 1, false))
{%- endmacro %}

{% macro default__bit_positions(mask, n_bits) -%}
    {{ exceptions.raise_compiler_error("bit_positions is not implemented for " ~ target.type) }}
{%- endmacro %}


{# A select-list item that makes one row per value from start to stop, both included, step apart
   (numbers, or timestamps with an interval step). #}
{% macro unnest_series(start, stop, step) -%}
    {{ return(adapter.dispatch('unnest_series', 'customer_journeys')(start, stop, step)) }}
{%- endmacro %}

{% macro duckdb__unnest_series(start, stop, step) -%}
    unnest(generate_series({{ start }}, {{ stop }}, {{ step }}))
{%- endmacro %}

{% macro spark__unnest_series(start, stop, step) -%}
    explode(sequence({{ start }}, {{ stop }}, {{ step }}))
{%- endmacro %}

{% macro default__unnest_series(start, stop, step) -%}
    {{ exceptions.raise_compiler_error("unnest_series is not implemented for " ~ target.type) }}
{%- endmacro %}


{# A query (to put in parentheses) with one row per struct of a list of structs, one column per field. #}
{% macro struct_rows(list) -%}
    {{ return(adapter.dispatch('struct_rows', 'customer_journeys')(list)) }}
{%- endmacro %}

{% macro duckdb__struct_rows(list) -%}
    select unnest({{ list }}, recursive := true)
{%- endmacro %}

{% macro spark__struct_rows(list) -%}
    select inline({{ list }})
{%- endmacro %}

{% macro default__struct_rows(list) -%}
    {{ exceptions.raise_compiler_error("struct_rows is not implemented for " ~ target.type) }}
{%- endmacro %}
