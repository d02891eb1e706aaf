"""Staging: one row per event, cleaned. What every later layer trusts."""

from __future__ import annotations

from journeys.quality.expect import between, in_set, key, not_null
from journeys.quality.gates import WARN, gate
from journeys.schemas.contract import CHANNELS, SCORE_RANGES

T = "staging.stg_touchpoints"

GATES = [
    gate(T, "event_id_unique_not_null", "event_id is the grain: never NULL, never twice.",
         "select event_id, occurred_at, channel, event_type, source_topic, source_offset from staging.stg_touchpoints",
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
