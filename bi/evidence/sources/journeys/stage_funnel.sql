-- marts.stage_funnel: one row per breakdown, breakdown value and stage.
select
    breakdown, breakdown_value, stage, stage_rank, next_stage, n_journeys, n_reached, reach_rate,
    n_reached_next, conversion_to_next_rate, drop_off_rate,
    median_time_to_next_s / 3600.0 as median_hours_to_next
from marts.stage_funnel
