with conversions as (
    select person_id, event_id, occurred_at, order_id, revenue, currency
    from {{ ref('journey_steps') }}
    where is_conversion and occurred_at <= {{ as_of() }}
),

lifecycle as (
    select person_id, customer_id, persona, cohort_month, status, acquired_at
    from {{ ref('customer_lifecycle') }}
),

predictions as (
    select
        customer_id::string as person_id,
        probability_alive,
        expected_transactions_12m,
        expected_transaction_value,
        predicted_clv_12m,
        clv_method,
        clv_segment
    from {{ source('intermediate', 'int_clv_predictions') }}
),

history as (
    select
        person_id,
        max(occurred_at) as last_purchase_at,
        count(distinct coalesce(order_id, event_id)) as n_orders,
        count(distinct occurred_at::date) as n_purchase_days,
        coalesce(sum(revenue), 0) as revenue_to_date,
        coalesce({{ join_distinct_sorted('currency', "','") }}, {{ setting('reporting_currency') }}) as currency
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
        {{ seconds_between('lifecycle.acquired_at', as_of()) }} / 86400 as tenure_days,
        history.n_orders,
        history.n_purchase_days,
        history.revenue_to_date,
        history.revenue_to_date / nullif(history.n_orders, 0) as average_order_value,
        predictions.probability_alive::double as probability_alive,
        predictions.expected_transactions_12m::double as expected_transactions_12m,
        predictions.expected_transaction_value::double as expected_transaction_value,
        predictions.predicted_clv_12m::double as predicted_clv_12m,
        predictions.clv_method::string as clv_method,
        predictions.clv_segment::string as clv_segment,
        predictions.probability_alive < {{ setting('at_risk_probability_alive') }} as is_predicted_at_risk,
        history.currency
    from lifecycle
    inner join history on history.person_id = lifecycle.person_id
    left join predictions on predictions.person_id = lifecycle.person_id
)

select * from final
