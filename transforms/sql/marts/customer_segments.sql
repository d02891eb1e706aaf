-- One row per customer: a person with at least one conversion (purchase, subscription, renewal) on
-- or before as_of, with RFM scores, a named RFM segment and the flags marketing acts on.
-- Recency is days since the last conversion, frequency the distinct orders, monetary the revenue
-- of the conversions (in the reporting currency). Each score is a quintile, 5 = best (most recent,
-- most frequent, highest revenue), computed as 1 + floor(5 * (rank - 1) / n): the same buckets as
-- ntile(5) but customers with equal values share the lower score, so two one-time buyers never
-- get different frequency scores. Segments follow the common recency x frequency grid, first
-- match wins:
--   champions: R 4-5 and F 4-5
--   loyal: R 3-5 and F 3-5
--   new: R 4-5 and F 1
--   potential: R 3-5 and F 1-2
--   at_risk: R 1-2 and F 3-5 (were frequent, gone quiet)
--   hibernating: R 2 and F 1-2
--   lost: R 1 and F 1-2
-- High value is the top decile of predicted 12-month CLV (marts.customer_value); at risk is a
-- probability alive below at_risk_probability_alive or lifecycle status at_risk
-- (marts.customer_lifecycle).
-- columns:
--   person_id: the stitched person
--   persona: b2b or b2c, from the person's latest journey with a persona
--   first_purchase_at: first conversion
--   last_purchase_at: latest conversion on or before as_of
--   recency_days: days from last_purchase_at to as_of
--   frequency: distinct orders (conversions without an order_id count one each)
--   monetary: revenue of the conversions, in the reporting currency
--   avg_order_value: monetary / frequency
--   r_score: recency quintile, 5 = most recent
--   f_score: frequency quintile, 5 = most frequent
--   m_score: monetary quintile, 5 = highest revenue
--   rfm_score: the three scores as text, e.g. '545'
--   rfm_segment: champions, loyal, new, potential, at_risk, hibernating or lost (rules above)
--   predicted_clv_12m: predicted 12-month CLV from marts.customer_value; NULL when not modelled
--   clv_decile: decile of predicted_clv_12m, 1 = top 10%
--   is_high_value: in the top decile of predicted CLV
--   probability_alive: BG/NBD probability that the customer is still active
--   lifecycle_status: new, active, at_risk, dormant, churned or resurrected (marts.customer_lifecycle)
--   is_at_risk: probability_alive below at_risk_probability_alive, or lifecycle_status at_risk
--   currency: currency of the money columns: the reporting currency (settings reporting_currency); a list like 'EUR,USD' would be a figure mixing currencies, which the ERROR gate one_currency_per_figure refuses
with conversions as (
    select person_id, event_id, order_id, occurred_at, revenue, currency
    from marts.journey_steps
    where is_conversion and occurred_at <= $as_of
),

journeys as (
    select person_id, persona, started_at from marts.journeys
),

customer_value as (
    select person_id, probability_alive, predicted_clv_12m from marts.customer_value
),

customer_lifecycle as (
    select person_id, status from marts.customer_lifecycle
),

personas as (
    select person_id, arg_max(persona, started_at) as persona
    from journeys
    where persona is not null
    group by person_id
),

purchases as (
    select
        person_id,
        min(occurred_at) as first_purchase_at,
        max(occurred_at) as last_purchase_at,
        (epoch($as_of) - epoch(max(occurred_at))) / 86400.0 as recency_days,
        count(distinct coalesce(order_id, event_id)) as frequency,
        coalesce(sum(revenue), 0) as monetary,
        coalesce(string_agg(distinct currency, ',' order by currency), $reporting_currency) as currency
    from conversions
    group by person_id
),

scored as (
    select
        *,
        1 + floor(5 * (rank() over (order by recency_days desc) - 1) / count(*) over ())::integer as r_score,
        1 + floor(5 * (rank() over (order by frequency) - 1) / count(*) over ())::integer as f_score,
        1 + floor(5 * (rank() over (order by monetary) - 1) / count(*) over ())::integer as m_score
    from purchases
),

valued as (
    select
        scored.*,
        customer_value.predicted_clv_12m,
        case when customer_value.predicted_clv_12m is not null then
            1 + floor(10 * (rank() over (order by customer_value.predicted_clv_12m desc nulls last) - 1)
                / count(customer_value.predicted_clv_12m) over ())::integer
        end as clv_decile,
        customer_value.probability_alive,
        customer_lifecycle.status as lifecycle_status
    from scored
    left join customer_value using (person_id)
    left join customer_lifecycle using (person_id)
),

final as (
    select
        valued.person_id,
        personas.persona,
        first_purchase_at,
        last_purchase_at,
        recency_days,
        frequency,
        monetary,
        monetary / frequency as avg_order_value,
        r_score,
        f_score,
        m_score,
        r_score::varchar || f_score::varchar || m_score::varchar as rfm_score,
        case
            when r_score >= 4 and f_score >= 4 then 'champions'
            when r_score >= 3 and f_score >= 3 then 'loyal'
            when r_score >= 4 and f_score = 1 then 'new'
            when r_score >= 3 then 'potential'
            when f_score >= 3 then 'at_risk'
            when r_score = 2 then 'hibernating'
            else 'lost'
        end as rfm_segment,
        predicted_clv_12m,
        clv_decile,
        coalesce(clv_decile = 1, false) as is_high_value,
        probability_alive,
        lifecycle_status,
        coalesce(probability_alive < $at_risk_probability_alive, false)
            or coalesce(lifecycle_status = 'at_risk', false) as is_at_risk,
        currency
    from valued
    left join personas using (person_id)
)

select * from final
