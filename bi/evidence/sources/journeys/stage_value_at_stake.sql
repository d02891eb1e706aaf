-- marts.stage_value_at_stake: one row per persona and stage.
select
    persona, stage, stage_rank, n_stage_journeys, n_dropped, drop_off_rate, value_at_stake,
    share_of_value_at_stake, rank as value_rank, currency
from marts.stage_value_at_stake
