{#
  Incremental (transforms/incremental.py): an incremental build replaces the rows of the staged
  events that changed and of the events carrying an identifier whose person changed
  (macros/stitch_candidates.sql), and logs the persons of those rows before and after, for the
  person-grain models above it, and the events it replaced, for the serving file (journeys/serving_file.py).
#}
{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail',
          pre_hook=["{{ candidates_table(stitch_candidate_events()) }}", "{{ log_changes(persons_of_candidates()) }}",
                    "{{ delete_candidate_events() }}"],
          post_hook=["{{ log_changes(persons_of_candidates()) }}",
                     "{{ log_changes(\"select 'event_id' as key_type, event_id as key from \" ~ candidates()) }}",
                     "{{ drop_candidates() }}"]) }}

{%- set identifiers = identifiers_by_durability() -%}

with touchpoints as (
    select
        event_id, occurred_at, channel, event_type,
        customer_id, anonymous_id, email_hash, phone_hash, loyalty_id, session_id, order_id,
        revenue, currency, original_revenue, original_currency, fx_rate,
        campaign, source, medium, product_id, ticket_id,
        nps_score, csat_score, ces_score, persona, issue_category
    from {{ ref('stg_touchpoints') }}
    {%- if is_incremental() %}
        where event_id in (select candidates.event_id from {{ candidates() }} as candidates)
    {%- endif %}
),

identity_map as (
    select identifier_type, identifier_value, person_id, is_shared
    from {{ source('intermediate', 'int_identity_map') }}
),

stage_model as (
    select event_type, stage, stage_rank, stage_kind, is_conversion
    from {{ source('intermediate', 'int_stage_model') }}
),

{%- for identifier in identifiers %}

    by_{{ identifier }} as (
        select * from identity_map
        where identifier_type = '{{ identifier }}'
    ),
{%- endfor %}

-- A touchpoint's person: its most durable identifier that is not shared, else its most durable one.
with_person as (
    select
        touchpoints.*,
        coalesce(
            {%- for identifier in identifiers %}
                case when not by_{{ identifier }}.is_shared then by_{{ identifier }}.person_id end,
            {%- endfor %}
            {%- for identifier in identifiers %}
                by_{{ identifier }}.person_id{{ ',' if not loop.last }}
            {%- endfor %}
        ) as person_id
    from touchpoints
    {%- for identifier in identifiers %}
    left join by_{{ identifier }} on touchpoints.{{ identifier }} = by_{{ identifier }}.identifier_value
    {%- endfor %}
),

final as (
    select
        with_person.event_id,
        with_person.person_id,
        with_person.occurred_at,
        with_person.channel,
        with_person.event_type,
        stage_model.stage,
        stage_model.stage_rank,
        coalesce(stage_model.stage_kind, 'unmapped') as stage_kind,
        coalesce(stage_model.is_conversion, false) as is_conversion,
        with_person.session_id,
        with_person.order_id,
        with_person.revenue,
        with_person.currency,
        with_person.original_revenue,
        with_person.original_currency,
        with_person.fx_rate,
        with_person.campaign,
        with_person.source,
        with_person.medium,
        with_person.product_id,
        with_person.ticket_id,
        with_person.nps_score,
        with_person.csat_score,
        with_person.ces_score,
        with_person.persona,
        with_person.issue_category
    from with_person
    left join stage_model on stage_model.event_type = with_person.event_type
)

select * from final
