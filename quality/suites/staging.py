"""Staging: one row per event, cleaned. What every later layer trusts."""

from __future__ import annotations

from journeys.quality.expect import between, equal, in_set, key, not_null, true
from journeys.quality.gates import WARN, gate
from journeys.schemas.contract import CHANNELS, SCORE_RANGES

T = "staging.stg_touchpoints"

EVENT_GATES = [
    gate(T, "event_id_unique_not_null", "event_id is the grain: never NULL, never twice.",
         f"select event_id, occurred_at, channel, event_type, source_topic, source_offset from {T}",
         key("event_id")),

    gate(T, "required_fields_present", "Every event has occurred_at, channel and event_type.",
         """select event_id, occurred_at, channel, event_type from staging.stg_touchpoints
            where occurred_at is null or channel is null or event_type is null""",
         not_null("occurred_at", "channel", "event_type")),

    gate(T, "scores_in_range", "NPS is 0-10, CSAT 1-5, CES 1-7.",
         """select event_id, channel, event_type, nps_score, csat_score, ces_score
            from staging.stg_touchpoints
            where nps_score is not null or csat_score is not null or ces_score is not null""",
         *(between(column, low, high) for column, (low, high) in SCORE_RANGES.items())),

    gate(T, "revenue_not_negative", "Revenue is never negative (refunds are their own event type) nor NaN.",
         """select event_id, channel, event_type, order_id,
                   case when isnan(revenue) then null else revenue end as revenue, isnan(revenue) as is_nan
            from staging.stg_touchpoints where revenue is not null""",
         between("revenue", min_value=0), in_set("is_nan", [False])),

    gate(T, "occurred_at_not_in_future",
         "No event happened later than max_event_future_s after the check.",
         # Only events of the last two days can fail: older ones are not read.
         """select event_id, channel, event_type, occurred_at,
                   epoch(occurred_at) - epoch($checked_at::timestamp) as seconds_ahead
            from staging.stg_touchpoints
            where occurred_at > $checked_at::timestamp - interval 2 day
            order by occurred_at desc""",
         between("seconds_ahead", max_value="$max_event_future_s")),

    gate(T, "channel_known", "Every channel is one the contract lists.",
         "select channel, count(*) as n_events from staging.stg_touchpoints group by channel order by channel",
         in_set("channel", CHANNELS), severity=WARN),
]

# ---- the as-of date: a build must describe some data, and not a moment long after it -----------

AS_OF_GATES = [
    gate(T, "as_of_not_before_every_event",
         "Staging is not empty while raw holds events: an as_of before every event would publish an empty warehouse.",
         """with raw_events as (
                select count(*) as n_raw_events, min(occurred_at) as first_at, max(occurred_at) as last_at
                from raw.touchpoints
            ),
            final as (
                select strftime($as_of::timestamp, '%Y-%m-%dT%H:%M:%S') as as_of,
                       n_raw_events,
                       (select count(*) from staging.stg_touchpoints) as n_staged_events,
                       strftime(first_at, '%Y-%m-%d') as raw_first_occurred_on,
                       strftime(last_at, '%Y-%m-%d') as raw_last_occurred_on
                from raw_events
            )
            select *,
                   n_raw_events = 0 or n_staged_events > 0 as is_anything_to_build,
                   case when n_raw_events > 0 and n_staged_events = 0 then
                       'as_of ' || as_of || ' is before every event (raw occurred_at spans '
                       || raw_first_occurred_on || ' … ' || raw_last_occurred_on || '): nothing to build'
                   end as problem
            from final""",
         true("is_anything_to_build"), explain="problem"),

    gate(T, "as_of_not_long_after_latest_event",
         "as_of is at most churn_inactive_days after the latest event; later, every customer looks churned.",
         """with latest as (
                select max(occurred_at) as latest_at from staging.stg_touchpoints
            ),
            final as (
                select strftime($as_of::timestamp, '%Y-%m-%dT%H:%M:%S') as as_of,
                       strftime(latest_at, '%Y-%m-%dT%H:%M:%S') as latest_event_at,
                       round((epoch($as_of::timestamp) - epoch(latest_at)) / 86400, 1) as days_after_latest_event,
                       $churn_inactive_days::int as churn_inactive_days
                from latest
                where latest_at is not null
            )
            select *,
                   'as_of ' || as_of || ' is ' || days_after_latest_event || ' days after the latest event ('
                   || latest_event_at || '), more than churn_inactive_days (' || churn_inactive_days
                   || '): every customer looks churned' as problem
            from final""",
         between("days_after_latest_event", max_value="$churn_inactive_days"), severity=WARN, explain="problem"),
]


# ---- conflicting duplicates: one event_id, different content ------------------------------------

CONTENT = {
    # what staging makes of each contract column (trimmed, cased, '' as NULL): copies that differ only
    # in what staging normalises away are the same event. received_at and the source columns
    # (source_topic, source_partition, source_offset, ingested_at, load_id) differ between copies by nature.
    "occurred_at": "occurred_at",
    "channel": "nullif(lower(trim(channel)), '')",
    "event_type": "nullif(lower(trim(event_type)), '')",
    **{c: f"nullif(trim({c}), '')" for c in ("customer_id", "anonymous_id", "email_hash", "phone_hash", "loyalty_id",
                                             "session_id", "order_id")},
    "revenue": "revenue",
    "currency": "nullif(upper(trim(currency)), '')",
    **{c: f"nullif(trim({c}), '')" for c in ("campaign", "source", "medium", "product_id", "ticket_id")},
    "nps_score": "nps_score",
    "csat_score": "csat_score",
    "ces_score": "ces_score",
    # a map's hash depends on its key order; an empty map is no properties
    "properties": "case when cardinality(properties) > 0 then list_sort(map_entries(properties)) end",
}
_DIFFERING = ",\n                       ".join(
    f"case when count(distinct hash({expr})) > 1 then '{column}' end" for column, expr in CONTENT.items())

CONFLICT_GATES = [
    gate(T, "redeliveries_have_the_same_content",
         "Every copy of a redelivered event carries the same content; staging keeps the first-received copy "
         "of an event_id delivered with different content (a reused id, a source that edits events) and drops the others.",
         # The ids delivered more than once first (a count per id), then a hash of the content of
         # their copies only: min <> max (much cheaper than a distinct count) finds the conflicting
         # ids; only for those few are the versions counted and the differing columns worked out.
         f"""with delivered_more_than_once as (
                select trim(event_id) as event_id, count(*) as n_copies
                from raw.touchpoints
                group by all
                having count(*) > 1
            ),
            redelivered as (
                select copies.event_id, any_value(copies.n_copies) as n_copies,
                       min(hash({', '.join(CONTENT.values())})) <> max(hash({', '.join(CONTENT.values())}))
                           as is_conflicting
                from raw.touchpoints
                inner join delivered_more_than_once as copies on copies.event_id = trim(raw.touchpoints.event_id)
                group by copies.event_id
            ),
            staged as (
                select * from redelivered semi join staging.stg_touchpoints using (event_id)
            ),
            differing as (
                select trim(event_id) as event_id,
                       count(distinct hash({', '.join(CONTENT.values())})) as n_content_versions,
                       concat_ws(', ', {_DIFFERING}) as differing_columns
                from raw.touchpoints
                where trim(event_id) in (select event_id from staged where is_conflicting)
                group by trim(event_id)
            ),
            final as (
                select staged.event_id, n_copies, coalesce(n_content_versions, 1) as n_content_versions,
                       differing_columns
                from staged left join differing using (event_id)
            )
            select * from final
            order by n_content_versions desc, n_copies desc, event_id""",
         equal("n_content_versions", 1), severity=WARN),
]

GATES = [*EVENT_GATES, *AS_OF_GATES, *CONFLICT_GATES]
