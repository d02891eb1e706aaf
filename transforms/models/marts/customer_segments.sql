with conversions as (
    select person_id, event_id, order_id, occurred_at, revenue, currency
    from {{ ref('journey_steps') }}
    where is_conversion and occurred_at <= {{ as_of() }}
),

journeys as (
    select person_id, persona, started_at from {{ ref('journeys') }}
),

customer_value as (
    select person_id, probability_alive, predicted_clv_12m from {{ ref('customer_value') }}
),

customer_lifecycle as (
    select person_id, status from {{ ref('customer_lifecycle') }}
),

personas as (
    select person_id, max_by(persona, started_at) as persona
    from journeys
    where persona is not null
    group by person_id
),

purchases as (
    select
        person_id,
        min(occurred_at) as first_purchase_at,
        max(occurred_at) as last_purchase_at,
        {{ seconds_between('max(occurred_at)', as_of()) }} / 86400.0 as recency_days,
        count(distinct coalesce(order_id, event_id)) as frequency,
        coalesce(sum(revenue), 0) as monetary,
        coalesce({{ join_distinct_sorted('currency', "','") }}, {{ setting('reporting_currency') }}) as currency
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
        case
            when customer_value.predicted_clv_12m is not null
                then 1 + floor(
                    10 * (rank() over (order by customer_value.predicted_clv_12m desc nulls last) - 1)
                    / count(customer_value.predicted_clv_12m) over ()
                )::integer
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
        valued.first_purchase_at,
        valued.last_purchase_at,
        valued.recency_days,
        valued.frequency,
        valued.monetary,
        valued.monetary / valued.frequency as avg_order_value,
        valued.r_score,
        valued.f_score,
        valued.m_score,
        valued.r_score::string || valued.f_score::string || valued.m_score::string as rfm_score,
        case
            when valued.r_score >= 4 and valued.f_score >= 4 then 'champions'
            when valued.r_score >= 3 and valued.f_score >= 3 then 'loyal'
            when valued.r_score >= 4 and valued.f_score = 1 then 'new'
            when valued.r_score >= 3 then 'potential'
            when valued.f_score >= 3 then 'at_risk'
            when valued.r_score = 2 then 'hibernating'
            else 'lost'
        end as rfm_segment,
        valued.predicted_clv_12m,
        valued.clv_decile,
        coalesce(valued.clv_decile = 1, false) as is_high_value,
        valued.probability_alive,
        valued.lifecycle_status,
        (
            coalesce(valued.probability_alive < {{ setting('at_risk_probability_alive') }}, false)
            or coalesce(valued.lifecycle_status = 'at_risk', false)
        ) as is_at_risk,
        valued.currency
    from valued
    left join personas using (person_id)
)

select * from final
