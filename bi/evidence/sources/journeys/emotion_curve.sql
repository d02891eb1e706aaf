-- marts.emotion_curve: one row per persona and stage.
select
    persona, stage, stage_rank, n_responses, csat, csat_margin_of_error, nps, nps_margin_of_error,
    ces, ces_margin_of_error
from marts.emotion_curve
