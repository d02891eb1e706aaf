with tickets as (
    select * from {{ ref('support_tickets') }}
),

sliced as (
    select
        dimensions.dimension,
        case dimensions.dimension
            when 'all' then 'all'
            when 'channel' then coalesce(tickets.channel, '(none)')
            when 'issue_category' then coalesce(tickets.issue_category, '(none)')
            when 'persona' then coalesce(tickets.persona, '(none)')
            when 'month' then {{ year_month('opened_month') }}
        end as dimension_value,
        tickets.*
    from tickets
    cross join (values ('all'), ('channel'), ('issue_category'), ('persona'), ('month')) as dimensions (dimension)
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
        percentile_cont(0.9) within group (order by time_to_first_response_s) as p90_first_response_s,
        avg(time_to_first_response_s) as avg_first_response_s,
        median(time_to_resolution_s) as median_resolution_s,
        percentile_cont(0.9) within group (order by time_to_resolution_s) as p90_resolution_s,
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
        (row_number() over (partition by dimension order by n_tickets desc, dimension_value))::bigint as rank_by_tickets,
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
