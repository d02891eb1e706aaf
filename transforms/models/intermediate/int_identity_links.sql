{#
  Incremental (transforms/incremental.py): an incremental build replaces the pairs whose side a is
  an identifier staging logged as changed. A pair changes only when an event carrying both changed,
  and both of that event's identifiers were logged, so every changed pair is among them.
#}
{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail',
          pre_hook="{{ delete_changed_identifiers('identifier_type_a', 'identifier_value_a') }}") }}

{%- set identifiers = identifiers_by_durability() -%}
{#- Every pair of identifiers, the more durable one as side a: 10 pairs of 5. -#}
{%- set pairs = [] -%}
{%- for a in identifiers -%}
    {%- for b in identifiers[loop.index:] -%}
        {%- do pairs.append((a, b)) -%}
    {%- endfor -%}
{%- endfor -%}

with touchpoints as (
    select event_id, occurred_at, {{ identifiers | join(', ') }}
    from {{ ref('stg_touchpoints') }}
    where {{ carries_changed_identifier() }}
),

real_identifiers as (
    select
        event_id,
        occurred_at,
    {%- for identifier in identifiers %}
        case
            when not {{ regex_full_match('lower(' ~ identifier ~ ')', setting('identifier_placeholder_pattern')) }}
                then {{ identifier }}
        end as {{ identifier }}{{ ',' if not loop.last }}
    {%- endfor %}
    from touchpoints
    where (
        {%- for identifier in identifiers %}
            {{ '+ ' if not loop.first }}({{ identifier }} is not null)::int
        {%- endfor %}
    ) >= 2
),

pairs as (
    {%- for a, b in pairs %}
        {%- if not loop.first %}
            union all
        {%- endif %}
        select
            event_id, occurred_at, '{{ a }}' as identifier_type_a, {{ a }} as identifier_value_a,
            '{{ b }}' as identifier_type_b, {{ b }} as identifier_value_b
        from real_identifiers
        where {{ a }} is not null and {{ b }} is not null and {{ changed_identifier_only(a, a) }}
    {%- endfor %}
),

final as (
    select
        identifier_type_a,
        identifier_value_a,
        identifier_type_b,
        identifier_value_b,
        min(occurred_at) as first_seen_at,
        min_by(event_id, (occurred_at, event_id)) as first_event_id,
        max(occurred_at) as last_seen_at,
        count(*) as n_events
    from pairs
    group by identifier_type_a, identifier_value_a, identifier_type_b, identifier_value_b
)

select * from final
