-- One row per incoming message or file row (table `incoming`, contract columns plus
-- `parse_errors`), with reject_reason listing every rule it breaks, or NULL when it is valid.
-- Kafka ingestion and bulk loads share this one definition of valid.
-- Timestamps must be finite and inside [$earliest_event_at, $now + $max_future_s]: an infinite or
-- year-1 occurred_at is valid SQL but no business event, and left in raw it would break every
-- later build (date arithmetic overflows), so it is dead-lettered here with its reason.
select
    *,
    nullif(concat_ws('; ',
        parse_errors,
        case when event_id is null or trim(event_id) = '' then 'missing event_id' end,
        case when occurred_at is null and parse_errors is null then 'missing or unparseable occurred_at' end,
        case when occurred_at is not null and not isfinite(occurred_at) then 'occurred_at is ' || occurred_at::varchar end,
        case when isfinite(occurred_at) and occurred_at < $earliest_event_at
            then 'occurred_at ' || strftime(occurred_at, '%Y-%m-%dT%H:%M:%S') || ' is before earliest_event_at '
                 || strftime($earliest_event_at::timestamp, '%Y-%m-%d') end,
        case when isfinite(occurred_at) and occurred_at > $now + to_seconds($max_future_s)
            then 'occurred_at ' || strftime(occurred_at, '%Y-%m-%dT%H:%M:%S') || ' is more than '
                 || ($max_future_s // 3600) || 'h in the future' end,
        case when received_at is not null and not isfinite(received_at) then 'received_at is ' || received_at::varchar end,
        case when isfinite(received_at) and (received_at < $earliest_event_at or received_at > $now + to_seconds($max_future_s))
            then 'received_at ' || strftime(received_at, '%Y-%m-%dT%H:%M:%S') || ' is outside the accepted range' end,
        case when channel is null or channel not in ('web', 'email', 'call_center', 'store', 'mobile_app', 'social', 'chat', 'sms')
            then 'unknown channel ' || coalesce('''' || channel || '''', 'NULL') end,
        case when event_type is null or trim(event_type) = '' then 'missing event_type' end,
        case when coalesce(nullif(trim(customer_id), ''), nullif(trim(anonymous_id), ''), nullif(trim(email_hash), ''),
                           nullif(trim(phone_hash), ''), nullif(trim(loyalty_id), '')) is null
            then 'no identifier (customer_id, anonymous_id, email_hash, phone_hash or loyalty_id)' end,
        case when revenue < 0 and not isinf(revenue) then 'negative revenue ' || revenue end,
        case when revenue is not null and isnan(revenue) then 'revenue is NaN' end,
        case when revenue is not null and isinf(revenue) then 'revenue is ' || revenue::varchar end,
        -- No order is worth 10^15: such a value is a broken feed, and a few of them sum to infinity.
        case when isfinite(revenue) and abs(revenue) >= 1e15 then 'revenue ' || revenue::varchar || ' is 10^15 or more' end,
        case when nps_score not between 0 and 10 then 'nps_score ' || nps_score || ' outside 0-10' end,
        case when csat_score not between 1 and 5 then 'csat_score ' || csat_score || ' outside 1-5' end,
        case when ces_score not between 1 and 7 then 'ces_score ' || ces_score || ' outside 1-7' end
    ), '') as reject_reason
from incoming
