"""Journey metrics: funnel, conversion, lifecycle, churn, retention and customer value."""

from __future__ import annotations

from journeys.quality.expect import between, in_set, key, not_null, true
from journeys.quality.gates import gate

RATE = (0, 1)
LIFECYCLE_STATUSES = ("new", "active", "at_risk", "resurrected", "churned", "dormant")

FUNNEL = [
    gate("marts.stage_funnel", "funnel_grain", "(breakdown, breakdown_value, stage) is the grain.",
         "select breakdown, breakdown_value, stage, stage_rank from marts.stage_funnel",
         key("breakdown", "breakdown_value", "stage"), between("stage_rank", min_value=1)),
    gate("marts.stage_funnel", "funnel_never_increases",
         "In every slice, no stage is reached by more journeys than the stage before it, nor by more than "
         "the slice has; rates are shares.",
         """select breakdown, breakdown_value, stage_rank, stage, n_journeys, n_reached, n_reached_next,
                   n_reached - lag(n_reached) over slice as increase_over_previous_stage,
                   n_reached - n_journeys as excess_over_journeys,
                   n_reached_next - n_reached as excess_next_over_reached,
                   reach_rate, conversion_to_next_rate, drop_off_rate
            from marts.stage_funnel
            window slice as (partition by breakdown, breakdown_value order by stage_rank)
            order by breakdown, breakdown_value, stage_rank""",
         between("increase_over_previous_stage", max_value=0), between("excess_over_journeys", max_value=0),
         between("excess_next_over_reached", max_value=0),
         *(between(c, *RATE) for c in ("reach_rate", "conversion_to_next_rate", "drop_off_rate"))),
]

CONVERSION = [
    gate("marts.conversion", "conversion_grain",
         "(period_grain, period_start, breakdown, breakdown_value) is the grain.",
         """select period_grain, coalesce(period_start::varchar, 'all') as period, breakdown, breakdown_value
            from marts.conversion""",
         key("period_grain", "period", "breakdown", "breakdown_value"),
         in_set("period_grain", ("all", "day", "week", "month"))),
    gate("marts.conversion", "conversion_values_valid",
         "Conversion rates are shares of the journeys, revenue and order values are not negative.",
         """select period_grain, period_start, breakdown, breakdown_value, n_journeys, n_converted_journeys,
                   n_converted_journeys - n_journeys as excess_converted, conversion_rate, revenue,
                   average_order_value, median_time_to_convert_s
            from marts.conversion""",
         between("conversion_rate", *RATE), between("excess_converted", max_value=0),
         between("revenue", min_value=0), between("average_order_value", min_value=0),
         between("median_time_to_convert_s", min_value=0)),
]

LIFECYCLE = [
    gate("marts.customer_facts", "customer_facts_consistent",
         "One row per customer, acquired at a conversion: first seen <= acquired <= last conversion, "
         "last active at or after acquisition (the acquisition is an activity), at least one conversion.",
         """select person_id, first_seen_at, acquired_at, last_conversion_at, last_active_at, n_conversions,
                   acquired_at >= first_seen_at and last_conversion_at >= acquired_at
                       and last_active_at >= acquired_at as times_in_order
            from marts.customer_facts""",
         key("person_id"), not_null("acquired_at"), between("n_conversions", min_value=1), true("times_in_order")),
    gate("marts.customer_spells", "spell_valid",
         "Every spell is an inactivity or exit spell of a customer of marts.customer_facts, after its acquisition, "
         "and ends after it starts (when it ended).",
         """select s.person_id, s.churned_at, s.returned_at, s.reason, f.person_id is not null as customer_exists,
                   s.churned_at >= f.acquired_at and (s.returned_at is null or s.returned_at > s.churned_at)
                       as times_in_order
            from marts.customer_spells as s left join marts.customer_facts as f using (person_id)""",
         not_null("churned_at"), in_set("reason", ("inactivity", "exit_event")), true("customer_exists"),
         true("times_in_order")),
    gate("marts.customer_lifecycle", "customer_unique_not_null", "person_id is the grain.",
         "select person_id, customer_id from marts.customer_lifecycle",
         key("person_id")),
    gate("marts.customer_lifecycle", "status_valid",
         "Every customer has one of the six statuses, churned exactly when dormant or churned.",
         """select person_id, status, status_reason, is_churned, days_inactive,
                   is_churned = (status in ('dormant', 'churned')) as is_churned_consistent
            from marts.customer_lifecycle""",
         not_null("status"), in_set("status", LIFECYCLE_STATUSES), true("is_churned_consistent"),
         between("days_inactive", min_value=0)),
    gate("marts.customer_churn_periods", "period_grain",
         "(person_id, period_number) is the grain; periods are retained or churned.",
         "select person_id, period_number, state, started_at, ended_at from marts.customer_churn_periods",
         key("person_id", "period_number"), in_set("state", ("retained", "churned"))),
]

CHURN = [
    gate("marts.churn_monthly", "churn_grain", "(month_start, breakdown, breakdown_value) is the grain.",
         "select month_start, breakdown, breakdown_value from marts.churn_monthly",
         key("month_start", "breakdown", "breakdown_value")),
    gate("marts.churn_monthly", "churn_rate_valid",
         "Churn and retention rates are shares; no slice loses more customers than it started the month with.",
         """select month_start, breakdown, breakdown_value, n_customers_at_start, n_churned,
                   n_churned - n_customers_at_start as excess_churned, churn_rate, retention_rate
            from marts.churn_monthly""",
         between("churn_rate", *RATE), between("retention_rate", *RATE), between("excess_churned", max_value=0),
         between("n_customers_at_start", min_value=0)),
    gate("marts.cohort_retention", "retention_grain",
         "(cohort_month, months_since_acquisition, breakdown, breakdown_value) is the grain.",
         "select cohort_month, months_since_acquisition, breakdown, breakdown_value from marts.cohort_retention",
         key("cohort_month", "months_since_acquisition", "breakdown", "breakdown_value"),
         between("months_since_acquisition", min_value=0)),
    gate("marts.cohort_retention", "retention_rate_valid",
         "Retention is a share of the cohort.",
         """select cohort_month, months_since_acquisition, breakdown, breakdown_value, n_customers, n_retained,
                   n_retained - n_customers as excess_retained, retention_rate
            from marts.cohort_retention""",
         between("retention_rate", *RATE), between("excess_retained", max_value=0), between("n_customers", min_value=1)),
]

VALUE = [
    gate("marts.customer_value", "customer_unique_not_null", "person_id is the grain.",
         "select person_id, customer_id from marts.customer_value",
         key("person_id")),
    gate("marts.customer_value", "value_not_negative",
         "Revenue, order values and predicted CLV are not negative, probability alive is a probability.",
         """select person_id, clv_method, n_orders, revenue_to_date, average_order_value, probability_alive,
                   expected_transactions_12m, predicted_clv_12m
            from marts.customer_value""",
         between("revenue_to_date", min_value=0), between("average_order_value", min_value=0),
         between("predicted_clv_12m", min_value=0), between("expected_transactions_12m", min_value=0),
         between("probability_alive", *RATE), between("n_orders", min_value=1),
         in_set("clv_method", ("bg_nbd_gamma_gamma", "historical_fallback"))),
    gate("marts.clv_model_params", "parameters_valid",
         "Fitted BG/NBD and Gamma-Gamma parameters are positive and finite.",
         """select model, parameter, value, n_customers,
                   case when isfinite(value) then value end as finite_value
            from marts.clv_model_params""",
         in_set("model", ("bg_nbd", "gamma_gamma")), not_null("finite_value"),
         between("value", min_value=0, max_value=None), between("n_customers", min_value=1)),
]

_FITTED_PLANS = "(select distinct segment as plan from marts.retention_model_params where status like 'fitted%')"

RETENTION = [
    gate("marts.retention_model_params", "parameters_valid",
         "Fitted sBG parameters are positive and finite with a finite log-likelihood <= 0; one gamma and one "
         "delta per plan.",
         """select segment, parameter, value, status, n_subscribers, log_likelihood,
                   case when status not like 'fitted%' or (isfinite(value) and isfinite(log_likelihood))
                        then true end as finite_where_fitted
            from marts.retention_model_params""",
         key("segment", "parameter"), not_null("finite_where_fitted"), between("value", min_value=0),
         between("log_likelihood", max_value=0), between("n_subscribers", min_value=1)),
    gate("marts.subscriber_value", "subscription_unique_and_valued",
         "One row per active subscription; a fitted plan's subscriptions have finite predictions; probabilities "
         "are probabilities, values are not negative.",
         f"""select person_id, plan, started_at, renewal_probability, derl, residual_value,
                   case when plan not in {_FITTED_PLANS} or (isfinite(derl) and isfinite(renewal_probability)
                        and isfinite(expected_renewals_horizon)) then true end as predicted_where_fitted
            from marts.subscriber_value""",
         key("person_id", "plan", "started_at"), not_null("predicted_where_fitted"),
         between("renewal_probability", *RATE), between("derl", min_value=0), between("residual_value", min_value=0)),
    gate("marts.retention_projection", "survival_is_a_share",
         "Observed and projected survival are shares, one row per plan and period, projected for every fitted plan.",
         f"""select plan, period, observed_survival, projected_survival,
                   case when plan not in {_FITTED_PLANS} or isfinite(projected_survival) then true end
                       as projected_where_fitted
            from marts.retention_projection""",
         key("plan", "period"), not_null("projected_where_fitted"), between("observed_survival", *RATE),
         between("projected_survival", *RATE)),
]

GATES = [*FUNNEL, *CONVERSION, *LIFECYCLE, *CHURN, *VALUE, *RETENTION]
