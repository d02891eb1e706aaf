-- One row per dimension and dimension value: support volume, response and resolution times, SLA
-- breaches and repeat contacts over the tickets of marts.support_tickets, in long format.
-- Dimensions: 'all', 'channel', 'issue_category', 'persona' and 'month' (month the ticket was
-- opened, 'YYYY-MM'). share_of_tickets is the slice's share of all tickets, so the issue category
-- behind 30% of tickets is `where dimension = 'issue_category' order by rank_by_tickets`. Times
-- are over answered (resolved) tickets only; breach rates count open tickets already past a
-- target as breaches.
-- columns:
--   dimension: all, channel, issue_category, persona or month
--   dimension_value: the value; 'all' for dimension all, '(none)' when NULL
--   rank_by_tickets: 1 = the value with the most tickets in its dimension
--   n_tickets: tickets opened
--   share_of_tickets: n_tickets / all tickets
--   n_answered: tickets with a first response
--   n_resolved: tickets resolved
--   n_open: tickets not resolved at as_of
--   median_first_response_s: median seconds to the first response, answered tickets
--   p90_first_response_s: 90th percentile of seconds to the first response, answered tickets
--   avg_first_response_s: mean seconds to the first response, answered tickets
--   median_resolution_s: median seconds to resolution, resolved tickets
--   p90_resolution_s: 90th percentile of seconds to resolution, resolved tickets
--   avg_resolution_s: mean seconds to resolution, resolved tickets
--   first_response_target_s: the first response target
--   resolution_target_s: the resolution target
--   n_first_response_breached: tickets answered after the target or unanswered past it
--   first_response_breach_rate: n_first_response_breached / n_tickets
--   n_resolution_breached: tickets resolved after the target or open past it
--   resolution_breach_rate: n_resolution_breached / n_tickets
--   n_breached: tickets breaching either target
--   breach_rate: n_breached / n_tickets
--   n_repeat_contacts: tickets that are repeat contacts (the same person within the repeat window)
--   repeat_contact_rate: n_repeat_contacts / n_tickets
--   n_repeat_same_issue: repeat contacts about the same issue category as the previous ticket
--   first_contact_resolution_rate: share of resolved tickets not followed by a repeat contact
--   n_surveyed: tickets with a CSAT answer
--   csat: share of those answers at 4-5
with tickets as (
    select * from marts.support_tickets
),

sliced as (
    select slice.dimension, slice.dimension_value, tickets.*
    from tickets
    cross join unnest([
        {'dimension': 'all', 'dimension_value': 'all'},
        {'dimension': 'channel', 'dimension_value': coalesce(channel, '(none)')},
        {'dimension': 'issue_category', 'dimension_value': coalesce(issue_category, '(none)')},
        {'dimension': 'persona', 'dimension_value': coalesce(persona, '(none)')},
        {'dimension': 'month', 'dimension_value': strftime(opened_month, '%Y-%m')}
    ]) as slices(slice)
),

aggregated as (
    select
        dimension,
        dimension_value,
        count(*) as n_tickets,
        count(*) filter (where is_answered) as n_answered,
        count(*) filter (where is_resolved) as n_resolved,
        count(*) filter (where not is_resolved) as n_open,
        median(time_to_first_response_s) as median_first_response_s,
        quantile_cont(time_to_first_response_s, 0.9) as p90_first_response_s,
        avg(time_to_first_response_s) as avg_first_response_s,
        median(time_to_resolution_s) as median_resolution_s,
        quantile_cont(time_to_resolution_s, 0.9) as p90_resolution_s,
        avg(time_to_resolution_s) as avg_resolution_s,
        max(first_response_target_s) as first_response_target_s,
        max(resolution_target_s) as resolution_target_s,
        count(*) filter (where is_first_response_breached) as n_first_response_breached,
        count(*) filter (where is_resolution_breached) as n_resolution_breached,
        count(*) filter (where is_breached) as n_breached,
        count(*) filter (where is_repeat_contact) as n_repeat_contacts,
        count(*) filter (where is_repeat_same_issue) as n_repeat_same_issue,
        count(*) filter (where is_resolved and not is_followed_by_repeat_contact) as n_resolved_first_contact,
        count(csat_score) as n_surveyed,
        count(*) filter (where csat_score >= 4) as n_csat_satisfied
    from sliced
    group by dimension, dimension_value
),

final as (
    select
        dimension,
        dimension_value,
        row_number() over (partition by dimension order by n_tickets desc, dimension_value) as rank_by_tickets,
        n_tickets,
        n_tickets / sum(n_tickets) over (partition by dimension) as share_of_tickets,
        n_answered,
        n_resolved,
        n_open,
        median_first_response_s,
        p90_first_response_s,
        avg_first_response_s,
        median_resolution_s,
        p90_resolution_s,
        avg_resolution_s,
        first_response_target_s,
        resolution_target_s,
        n_first_response_breached,
        n_first_response_breached / n_tickets as first_response_breach_rate,
        n_resolution_breached,
        n_resolution_breached / n_tickets as resolution_breach_rate,
        n_breached,
        n_breached / n_tickets as breach_rate,
        n_repeat_contacts,
        n_repeat_contacts / n_tickets as repeat_contact_rate,
        n_repeat_same_issue,
        n_resolved_first_contact / nullif(n_resolved, 0) as first_contact_resolution_rate,
        n_surveyed,
        n_csat_satisfied / nullif(n_surveyed, 0) as csat
    from aggregated
)

select * from final
