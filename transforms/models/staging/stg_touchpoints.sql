{#
  Incremental (transforms/incremental.py): an incremental build rebuilds the events of raw rows
  appended since the last build and those as_of now takes in (its candidates), reading every copy
  of them again. It logs the candidates, for int_touchpoints_stitched, and their identifiers
  before and after, for the identifier-grain models.
#}
{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail',
          pre_hook=["{{ candidates_table(touched_raw_event_ids()) }}", "{{ log_changes(identifiers_of_candidates()) }}",
                    "{{ delete_candidate_events() }}"],
          post_hook=["{{ log_changes(\"select 'event_id' as key_type, event_id as key from \" ~ candidates()) }}",
                     "{{ log_changes(identifiers_of_candidates()) }}", "{{ drop_candidates() }}"]) }}

with
-- Not materialized: the dedup CTEs read two narrow columns of it, only `final` reads every column.
raw_touchpoints {{ inline_cte() }} (
    select
        {{ physical_row_id() }} as raw_row,
        trim(event_id) as event_id,
        occurred_at, received_at, channel, event_type,
        customer_id, anonymous_id, email_hash, phone_hash, loyalty_id, session_id, order_id,
        revenue, currency, campaign, source, medium, product_id, ticket_id,
        nps_score, csat_score, ces_score,
        source_topic, source_partition, source_offset, ingested_at, load_id,
        properties['persona'] as persona,
        properties['issue_category'] as issue_category
    from {{ source('raw', 'touchpoints') }}
    where occurred_at <= {{ as_of() }}
        {% if is_incremental() %}
            and trim(event_id) in (select candidates.event_id from {{ candidates() }} as candidates)
        {% endif %}
),

-- Most events arrive once: rank the copies of the others only, then drop all but the first.
redelivered as (
    select event_id, count(*) as n_deliveries
    from raw_touchpoints
    group by event_id
    having count(*) > 1
),

later_copies as (
    select raw_row
    from (
        select
            raw_touchpoints.raw_row,
            row_number() over (
                partition by raw_touchpoints.event_id
                order by
                    raw_touchpoints.received_at asc nulls last, raw_touchpoints.ingested_at, raw_touchpoints.source_topic,
                    raw_touchpoints.source_partition, raw_touchpoints.source_offset, raw_touchpoints.load_id
            ) as copy_number
        from raw_touchpoints
        semi join redelivered on redelivered.event_id = raw_touchpoints.event_id
    ) as copies
    where copy_number > 1
),

deduplicated as (
    select raw_touchpoints.*, coalesce(redelivered.n_deliveries, 1) as n_deliveries
    from raw_touchpoints
    anti join later_copies on later_copies.raw_row = raw_touchpoints.raw_row
    left join redelivered on redelivered.event_id = raw_touchpoints.event_id
),

converted as (
    select
        *,
        nullif(upper(trim(currency)), '') as original_currency,
        map_from_entries({{ setting('currency_rates') }})[nullif(upper(trim(currency)), '')] as fx_rate
    from deduplicated
),

final as (
    select
        event_id,
        occurred_at,
        received_at,
        nullif(lower(trim(channel)), '') as channel,
        nullif(lower(trim(event_type)), '') as event_type,
        nullif(trim(customer_id), '') as customer_id,
        nullif(trim(anonymous_id), '') as anonymous_id,
        nullif(trim(email_hash), '') as email_hash,
        nullif(trim(phone_hash), '') as phone_hash,
        nullif(trim(loyalty_id), '') as loyalty_id,
        nullif(trim(session_id), '') as session_id,
        nullif(trim(order_id), '') as order_id,
        revenue * fx_rate as revenue,
        case when revenue * fx_rate is not null then {{ setting('reporting_currency') }} end as currency,
        revenue as original_revenue,
        original_currency,
        fx_rate,
        nullif(trim(campaign), '') as campaign,
        nullif(trim(source), '') as source,
        nullif(trim(medium), '') as medium,
        nullif(trim(product_id), '') as product_id,
        nullif(trim(ticket_id), '') as ticket_id,
        nps_score,
        csat_score,
        ces_score,
        nullif(trim(persona), '') as persona,
        nullif(trim(issue_category), '') as issue_category,
        n_deliveries,
        source_topic,
        source_partition,
        source_offset,
        ingested_at,
        load_id
    from converted
)

select * from final
