"""CX marts: satisfaction, support, paths, attribution, segments and the journey map."""

from __future__ import annotations

from journeys.quality.expect import between, in_set, key, not_null, true
from journeys.quality.gates import gate
from journeys.schemas.contract import SCORE_RANGES
from journeys.transforms.attribution import MODELS as ATTRIBUTION_MODELS

RATE = (0, 1)
RFM_SEGMENTS = ("champions", "loyal", "new", "potential", "at_risk", "hibernating", "lost")

SATISFACTION = [
    gate("marts.satisfaction", "satisfaction_grain", "(dimension, dimension_value) is the grain.",
         "select dimension, dimension_value from marts.satisfaction",
         key("dimension", "dimension_value")),
    gate("marts.satisfaction", "scores_in_range",
         "NPS is -100..100 points, CSAT a share, CES a mean on 1-7; NPS answers split into promoters, "
         "passives and detractors.",
         """select dimension, dimension_value, n_nps_responses, nps, csat, ces,
                   n_promoters + n_passives + n_detractors = n_nps_responses as nps_counts_add_up
            from marts.satisfaction""",
         between("nps", -100, 100), between("csat", *RATE), between("ces", 1, 7), true("nps_counts_add_up")),
    gate("marts.survey_responses", "response_unique_not_null", "response_event_id is the grain.",
         "select response_event_id, person_id, responded_at from marts.survey_responses",
         key("response_event_id")),
    gate("marts.survey_responses", "scores_in_range", "NPS is 0-10, CSAT 1-5, CES 1-7.",
         "select response_event_id, nps_score, csat_score, ces_score, attribution_method from marts.survey_responses",
         *(between(column, low, high) for column, (low, high) in SCORE_RANGES.items()),
         in_set("attribution_method", ("ticket", "order", "recent_touchpoint", "none"))),
]

SUPPORT = [
    gate("marts.support_tickets", "ticket_unique_not_null", "ticket_id is the grain.",
         "select ticket_id, person_id, opened_at from marts.support_tickets",
         key("ticket_id"), not_null("opened_at")),
    gate("marts.support_tickets", "ticket_times_valid",
         "Tickets are answered and resolved after they open; a resolved ticket is answered.",
         """select ticket_id, opened_at, first_response_at, resolved_at, is_answered, is_resolved,
                   time_to_first_response_s, time_to_resolution_s, age_s,
                   not is_resolved or is_answered as resolved_was_answered
            from marts.support_tickets""",
         between("time_to_first_response_s", min_value=0), between("time_to_resolution_s", min_value=0),
         between("age_s", min_value=0), true("resolved_was_answered")),
    gate("marts.support_sla", "sla_grain", "(dimension, dimension_value) is the grain.",
         "select dimension, dimension_value from marts.support_sla",
         key("dimension", "dimension_value")),
    gate("marts.support_sla", "sla_rates_valid", "Breach, repeat-contact and resolution rates are shares.",
         """select dimension, dimension_value, n_tickets, share_of_tickets, breach_rate, first_response_breach_rate,
                   resolution_breach_rate, repeat_contact_rate, first_contact_resolution_rate, csat,
                   median_first_response_s, median_resolution_s
            from marts.support_sla""",
         *(between(c, *RATE) for c in ("share_of_tickets", "breach_rate", "first_response_breach_rate",
                                       "resolution_breach_rate", "repeat_contact_rate",
                                       "first_contact_resolution_rate", "csat")),
         between("median_first_response_s", min_value=0), between("median_resolution_s", min_value=0)),
]

PATHS = [
    gate("marts.path_steps", "path_step_grain", "(journey_id, path_step_number) is the grain.",
         "select journey_id, path_step_number, event_type from marts.path_steps",
         key("journey_id", "path_step_number")),
    gate("marts.path_steps", "repeats_collapsed",
         "No path step repeats the event type of the step before it (a run of one event type is one step); "
         "one row per event type, with the steps that break it.",
         """select event_type, count(*) as n_steps,
                   count(*) filter (where previous_event_type = event_type) as n_repeating_steps
            from marts.path_steps group by event_type order by n_repeating_steps desc, event_type""",
         between("n_repeating_steps", max_value=0)),
    gate("marts.path_variants", "path_grain", "(journey_type, rank) is the grain.",
         "select journey_type, rank, path from marts.path_variants",
         key("journey_type", "rank")),
    gate("marts.path_variants", "path_rates_valid", "Shares and conversion rates are shares.",
         """select journey_type, rank, path, n_journeys, n_converted, share_of_journeys, conversion_rate,
                   n_converted - n_journeys as excess_converted
            from marts.path_variants""",
         between("share_of_journeys", *RATE), between("conversion_rate", *RATE), between("excess_converted", max_value=0)),
    gate("marts.step_transitions", "transition_grain", "(source, target) is the grain.",
         "select source, target, n from marts.step_transitions",
         key("source", "target"), between("n", min_value=1)),
    gate("marts.step_transitions", "transition_shares_sum_to_one",
         "Out of every step, the transition probabilities (share_of_source) sum to 1.",
         """select source, count(*) as n_targets, sum(n) as n_transitions, sum(share_of_source) as total_share,
                   abs(sum(share_of_source) - 1) as total_share_error
            from marts.step_transitions group by source order by total_share_error desc, source""",
         between("total_share_error", max_value="$share_sum_tolerance")),
    gate("marts.pain_points", "pain_points_valid", "Pain types are known; rates and shares are shares.",
         "select pain_type, rank, from_step, to_step, channel, n, base, rate, share from marts.pain_points",
         in_set("pain_type", ("drop_off_step", "drop_off_transition", "slow_transition", "low_csat", "high_effort",
                              "detractor", "churn_exit")),
         between("rate", *RATE), between("share", *RATE), between("n", min_value=0)),
]

ATTRIBUTION = [
    gate("marts.attribution", "attribution_grain", "(model, dimension, dimension_value) is the grain.",
         "select model, dimension, dimension_value, share, revenue from marts.attribution",
         key("model", "dimension", "dimension_value"), in_set("model", ATTRIBUTION_MODELS),
         in_set("dimension", ("channel", "campaign")), between("share", *RATE), between("revenue", min_value=0)),
    gate("marts.attribution", "attribution_shares_sum_to_one",
         "Within every model and dimension the shares sum to 1 and credited conversions add up to the "
         "converting journeys. The conversions are compared relative to their total: fractional credits "
         "summed in another order differ in the last bits (3.5e-5 of 1.37M conversions at 100M events).",
         """with per_model as (
                select model, dimension, count(*) as n_values, sum(share) as total_share,
                       sum(conversions) as total_conversions
                from marts.attribution group by model, dimension
            )
            select *, abs(total_share - 1) as total_share_error,
                   abs(total_conversions - max(total_conversions) over ())
                       / greatest(max(total_conversions) over (), 1) as conversions_relative_gap_to_other_models
            from per_model order by total_share_error desc, model, dimension""",
         between("total_share_error", max_value="$share_sum_tolerance"),
         between("conversions_relative_gap_to_other_models", max_value="$share_sum_tolerance")),
]

SEGMENTS = [
    gate("marts.customer_segments", "customer_unique_not_null", "person_id is the grain.",
         "select person_id from marts.customer_segments",
         key("person_id")),
    gate("marts.customer_segments", "segment_valid",
         "RFM scores are quintiles 1-5, every customer has one of the seven segments, CLV deciles are 1-10.",
         "select person_id, r_score, f_score, m_score, rfm_segment, clv_decile, monetary from marts.customer_segments",
         *(between(c, 1, 5) for c in ("r_score", "f_score", "m_score")), not_null("rfm_segment"),
         in_set("rfm_segment", RFM_SEGMENTS), between("clv_decile", 1, 10), between("monetary", min_value=0)),
]

JOURNEY_MAP = [
    gate("marts.journey_map", "map_grain", "(persona, stage, channel, event_type) is the grain.",
         "select persona, stage, channel, event_type from marts.journey_map",
         key("persona", "stage", "channel", "event_type")),
    gate("marts.journey_map", "map_figures_valid",
         "Shares and rates are shares, scores within their scales, value at stake not negative; a touchpoint's "
         "journeys are some of its stage's, and no more of them drop there than passed through it.",
         """select persona, stage, channel, event_type, share_of_stage_journeys, next_stage_rate, drop_off_rate,
                   repeat_contact_rate, csat, nps, ces, value_at_stake, median_dwell_s,
                   n_journeys <= n_stage_journeys and n_dropped <= n_journeys
                       and n_customers_at_stake + n_prospects_at_stake <= n_dropped as counts_nest
            from marts.journey_map""",
         *(between(c, *RATE) for c in ("share_of_stage_journeys", "next_stage_rate", "drop_off_rate",
                                       "repeat_contact_rate", "csat")),
         between("nps", -100, 100), between("ces", 1, 7), between("value_at_stake", min_value=0),
         between("median_dwell_s", min_value=0), true("counts_nest")),
    gate("marts.stage_value_at_stake", "value_grain_and_sum",
         "(persona, stage) is the grain, and each persona's value at stake and drops are its map's.",
         """select s.persona, s.stage, s.value_at_stake, s.rank,
                   abs(s.value_at_stake - m.value_at_stake) <= 1e-6 * greatest(1.0, abs(m.value_at_stake))
                       and s.n_dropped = m.n_dropped as adds_up_to_the_map
            from marts.stage_value_at_stake s
            join (select persona, stage, sum(value_at_stake) as value_at_stake, sum(n_dropped) as n_dropped
                  from marts.journey_map group by persona, stage) m using (persona, stage)""",
         key("persona", "stage"), between("value_at_stake", min_value=0), between("rank", min_value=1),
         true("adds_up_to_the_map")),
    gate("marts.emotion_curve", "curve_grain_and_scores",
         "(persona, stage) is the grain; NPS is -100..100 points, CSAT a share, CES a mean on 1-7.",
         "select persona, stage, n_responses, nps, csat, ces from marts.emotion_curve",
         key("persona", "stage"), between("nps", -100, 100), between("csat", *RATE), between("ces", 1, 7),
         between("n_responses", min_value=0)),
]

GATES = [*SATISFACTION, *SUPPORT, *PATHS, *ATTRIBUTION, *SEGMENTS, *JOURNEY_MAP]
