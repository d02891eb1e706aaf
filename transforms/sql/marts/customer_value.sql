-- One row per customer at as_of (a person with at least one conversion on or before as_of): value
-- to date and predicted value. History counts the conversion touchpoints on or before as_of: an
-- order is a distinct order_id (else the touchpoint), so two orders on one day are two orders. The
-- prediction comes from transforms/clv.py (BG/NBD for how often, Gamma-Gamma for how much, horizon
-- clv_horizon_months, discounted at clv_discount_rate_annual), fitted per clv_segment (persona) on
-- non-contractual purchases only (clv_event_types) up to as_of, counting purchase days, not
-- orders, as its transactions. Subscription revenue is contractual: it counts in revenue_to_date
-- and in the historical fallback, not in model predictions. A segment with too few repeat buyers
-- falls back to historical value (clv_method historical_fallback, probability_alive and
-- expectations NULL; marts.clv_model_params then has no rows for it and its comment says why).
-- `clv_predictions` is the frame the build registers from the fit (person_id as its customer_id).
-- Every money column is in the reporting currency: the fit reads marts.journey_steps' revenue,
-- converted once, in staging.
-- columns:
--   person_id: the customer (a stitched person with a conversion on or before as_of)
--   customer_id: the person's known customer id; NULL for a customer known only by other identifiers
--   persona: the person's persona (b2b, b2c)
--   cohort_month: first day of the month of the first conversion
--   lifecycle_status: status in marts.customer_lifecycle (new, active, at_risk, resurrected, churned, dormant)
--   acquired_at: first conversion
--   last_purchase_at: latest conversion
--   tenure_days: days from acquired_at to as_of
--   n_orders: orders to date (distinct order_id, else conversion touchpoint)
--   n_purchase_days: distinct UTC days with a conversion: the model's transactions
--   revenue_to_date: revenue of all conversions to date, in the reporting currency
--   average_order_value: revenue_to_date / n_orders
--   probability_alive: BG/NBD probability the customer is still buying at as_of; NULL on the fallback
--   expected_transactions_12m: expected purchase days over the horizon; NULL on the fallback
--   expected_transaction_value: Gamma-Gamma expected revenue per purchase day; NULL on the fallback
--   predicted_clv_12m: discounted expected revenue over the horizon; on the fallback, revenue of the last horizon
--   clv_method: bg_nbd_gamma_gamma, or historical_fallback when no model could be fitted
--   clv_segment: segment whose fit or fallback priced the customer: b2c, b2b or all (see marts.clv_model_params)
--   is_predicted_at_risk: probability_alive below at_risk_probability_alive; NULL on the fallback
--   currency: currency of the money columns: the reporting currency (settings reporting_currency); a list like 'EUR,USD' would be a figure mixing currencies, which the ERROR gate one_currency_per_figure refuses
with conversions as (
    select person_id, event_id, occurred_at, order_id, revenue, currency
    from marts.journey_steps
    where is_conversion and occurred_at <= $as_of
),

lifecycle as (
    select person_id, customer_id, persona, cohort_month, status, acquired_at
    from marts.customer_lifecycle
),

predictions as (
    select
        customer_id::varchar as person_id,
        probability_alive,
        expected_transactions_12m,
        expected_transaction_value,
        predicted_clv_12m,
        clv_method,
        clv_segment
    from clv_predictions
),

history as (
    select
        person_id,
        max(occurred_at) as last_purchase_at,
        count(distinct coalesce(order_id, event_id)) as n_orders,
        count(distinct occurred_at::date) as n_purchase_days,
        coalesce(sum(revenue), 0) as revenue_to_date,
        coalesce(string_agg(distinct currency, ',' order by currency), $reporting_currency) as currency
    from conversions
    group by person_id
),

final as (
    select
        lifecycle.person_id,
        lifecycle.customer_id,
        lifecycle.persona,
        lifecycle.cohort_month,
        lifecycle.status as lifecycle_status,
        lifecycle.acquired_at,
        history.last_purchase_at,
        (epoch($as_of) - epoch(lifecycle.acquired_at)) / 86400 as tenure_days,
        history.n_orders,
        history.n_purchase_days,
        history.revenue_to_date,
        history.revenue_to_date / nullif(history.n_orders, 0) as average_order_value,
        predictions.probability_alive::double as probability_alive,
        predictions.expected_transactions_12m::double as expected_transactions_12m,
        predictions.expected_transaction_value::double as expected_transaction_value,
        predictions.predicted_clv_12m::double as predicted_clv_12m,
        predictions.clv_method::varchar as clv_method,
        predictions.clv_segment::varchar as clv_segment,
        predictions.probability_alive < $at_risk_probability_alive as is_predicted_at_risk,
        history.currency
    from lifecycle
    join history on history.person_id = lifecycle.person_id
    left join predictions on predictions.person_id = lifecycle.person_id
)

select * from final
