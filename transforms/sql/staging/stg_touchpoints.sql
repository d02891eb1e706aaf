-- One row per event (event_id): raw.touchpoints without redeliveries, with normalised types.
-- Kafka redelivers and files get loaded twice, so raw can hold several copies of an event: the
-- copy received first is kept, ties broken by ingestion time, topic, partition, offset and load,
-- so every rebuild keeps the same copy. Every build starts again from raw, which is how late
-- events (a nightly store batch) land where their occurred_at puts them in the journey. Events that
-- occurred after $as_of are left out, so every layer above describes the business as of that date. Of the
-- free-form properties only the ones models use become columns (the map itself stays in raw:
-- carrying it costs more than the rest of the row). Money is converted here, once: revenue is in
-- reporting_currency, at the rate of currency_rates_file for the touchpoint's currency (one rate per
-- currency for every date); what arrived stays as original_revenue and original_currency. Revenue in
-- a currency the file has no rate for, or with no currency, keeps revenue NULL and is never summed:
-- the ERROR gate revenue_has_a_rate names the currency and blocks the build.
-- columns:
--   event_id: unique per event (trimmed)
--   occurred_at: when the contact happened, UTC
--   received_at: when the source system handed the kept copy over, UTC
--   channel: web, email, call_center, store, mobile_app, social, chat or sms (lower-case, trimmed)
--   event_type: what happened (lower-case, trimmed): page_view, purchase, support_call, ...
--   customer_id: known customer (CRM) id, trimmed; empty means NULL
--   anonymous_id: device or cookie id, trimmed; empty means NULL
--   email_hash: salted SHA-256 of the normalised e-mail address; empty means NULL
--   phone_hash: salted SHA-256 of the normalised phone number; empty means NULL
--   loyalty_id: loyalty card number, trimmed; empty means NULL
--   session_id: web or app session, trimmed; empty means NULL
--   order_id: order the event belongs to; empty means NULL
--   revenue: order value in the reporting currency (original_revenue x fx_rate), never negative; NULL without revenue or without a rate for original_currency
--   currency: the reporting currency (ISO 4217) of revenue; NULL when revenue is NULL
--   original_revenue: order value as received, in original_currency, never negative
--   original_currency: ISO 4217 code as received, upper-case
--   fx_rate: units of the reporting currency per unit of original_currency (currency_rates_file); NULL when the file has no rate for it
--   campaign: marketing campaign; empty means NULL
--   source: traffic source (utm_source); empty means NULL
--   medium: traffic medium (utm_medium); empty means NULL
--   product_id: product the event is about; empty means NULL
--   ticket_id: support ticket the event belongs to; empty means NULL
--   nps_score: would-recommend score 0-10, on survey events
--   csat_score: satisfaction score 1-5, on survey events
--   ces_score: customer effort score 1-7 (lower is easier), on survey events
--   persona: properties['persona'], the segment a CRM or survey assigned; empty means NULL
--   issue_category: properties['issue_category'], what a support contact was about; empty means NULL
--   n_deliveries: copies of the event in raw (1 = delivered once)
--   source_topic: Kafka topic (or file:<name>) of the kept copy
--   source_partition: Kafka partition of the kept copy
--   source_offset: Kafka offset (or file row number) of the kept copy
--   ingested_at: when the kept copy was written to raw, UTC
--   load_id: ingest micro-batch or bulk load that wrote the kept copy

-- Not materialized: the dedup CTEs read two narrow columns of it, only `final` reads every column.
with raw_touchpoints as not materialized (
    select
        rowid as raw_row,
        trim(event_id) as event_id,
        * exclude (event_id, properties),
        properties['persona'] as persona,
        properties['issue_category'] as issue_category
    from raw.touchpoints
    where occurred_at <= $as_of
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
    from raw_touchpoints
    semi join redelivered on redelivered.event_id = raw_touchpoints.event_id
    qualify row_number() over (
        partition by event_id
        order by received_at asc nulls last, ingested_at, source_topic, source_partition, source_offset, load_id
    ) > 1
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
        $currency_rates[nullif(upper(trim(currency)), '')] as fx_rate
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
        case when revenue * fx_rate is not null then $reporting_currency end as currency,
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
