-- marts.journey_map: one row per persona, stage and touchpoint (channel, event type).
select
    persona, stage, stage_rank, channel, event_type, channel || ' · ' || event_type as touchpoint,
    n_journeys, share_of_stage_journeys, median_dwell_s / 3600.0 as median_dwell_hours, next_stage_rate,
    csat, n_csat_responses, drop_off_rate, drop_off_rank, pain_flags, value_at_stake, currency
from marts.journey_map
