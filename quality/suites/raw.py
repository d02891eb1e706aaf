"""Raw layer: what arrived. Ingestion already dead-letters invalid messages, so these gates catch
writes that bypassed it and sources that went quiet. They run when raw is materialized (the
ingest jobs), and in `journeys build` when it selects raw's checks."""

from __future__ import annotations

from journeys.quality.expect import between, not_null
from journeys.quality.gates import WARN, gate

T = "raw.touchpoints"

GATES = [
    gate(T, "required_fields_present",
         "Every touchpoint has an event_id, occurred_at, channel, event_type and source.",
         """select event_id, occurred_at, channel, event_type, source_topic, load_id
            from raw.touchpoints
            where event_id is null or occurred_at is null or channel is null or event_type is null
               or source_topic is null or load_id is null""",
         not_null("event_id", "occurred_at", "channel", "event_type", "source_topic", "load_id")),

    gate(T, "occurred_at_not_in_future",
         "No touchpoint happened later than max_event_future_s after the check (or after it was ingested).",
         # Only touchpoints of the last two days can fail: older ones are not read.
         """select event_id, channel, event_type, occurred_at, ingested_at,
                   epoch(occurred_at) - epoch(least($checked_at::timestamp, ingested_at)) as seconds_ahead
            from raw.touchpoints
            where occurred_at > least($checked_at::timestamp, ingested_at) - interval 2 day
            order by occurred_at desc""",
         between("seconds_ahead", max_value="$max_event_future_s")),

    gate(T, "daily_volume_per_channel",
         "On the latest complete day every channel sent at least volume_drop_ratio_min of its trailing "
         "median daily volume (channels with a median below volume_min_median are not judged).",
         """with bounds as (
                -- the latest day may still be filling up: judge the one before it
                select max(occurred_at)::date - 1 as latest_complete_day from raw.touchpoints
            ),
            daily as (
                -- only the days judged are counted: the cost is the trailing window, not the history
                select channel, occurred_at::date as day, count(distinct event_id) as n_events
                from raw.touchpoints, bounds
                where occurred_at >= latest_complete_day - $volume_trailing_days::int
                group by all
            ),
            calendar as (
                select channels.channel, d.day::date as day
                from (select distinct channel from raw.touchpoints) as channels,
                     bounds,
                     range(latest_complete_day - $volume_trailing_days::int,
                           latest_complete_day + 1, interval 1 day) as d(day)
            ),
            filled as (
                select calendar.channel, calendar.day, coalesce(daily.n_events, 0) as n_events,
                       calendar.day = bounds.latest_complete_day as is_latest
                from calendar cross join bounds left join daily using (channel, day)
            ),
            final as (
                select channel,
                       strftime(max(day), '%Y-%m-%d') as latest_complete_day,
                       sum(n_events) filter (where is_latest) as n_events_latest_day,
                       median(n_events) filter (where not is_latest) as trailing_median,
                       sum(n_events) filter (where is_latest) / nullif(median(n_events) filter (where not is_latest), 0)
                           as ratio_to_median
                from filled group by channel
            )
            select * from final
            where trailing_median >= $volume_min_median
            order by channel""",
         between("ratio_to_median", min_value="$volume_drop_ratio_min"),
         severity=WARN),
]

DEAD_LETTER_GATES = [
    gate("raw.dead_letters", "dead_letter_share",
         "No load (ingest micro-batch or file) of at least 100 messages dead-lettered more than "
         "dead_letter_share_max of what it consumed.",
         """select load_id, kind, source, started_at, n_consumed, n_dead_lettered,
                   n_dead_lettered / n_consumed as dead_letter_share
            from raw.load_runs
            where n_consumed >= 100
            order by started_at desc""",
         between("dead_letter_share", max_value="$dead_letter_share_max"),
         severity=WARN),
]
