with touchpoints as (
    select
        event_id, person_id, occurred_at, channel, event_type, ticket_id, order_id, issue_category, persona,
        nps_score, csat_score, ces_score
    from {{ ref('int_touchpoints_stitched') }}
    where ticket_id is not null and occurred_at <= {{ as_of() }}
),

persons as (
    select person_id, persona from {{ ref('persons') }}
),

ticket_events as (
    select * from touchpoints
    where event_type <> 'survey_response'
),

surveys as (
    select ticket_id, nps_score, csat_score, ces_score
    from (
        select
            ticket_id, nps_score, csat_score, ces_score,
            row_number() over (partition by ticket_id order by occurred_at desc, event_id desc) as survey_number
        from touchpoints
        where event_type = 'survey_response'
    ) as numbered
    where survey_number = 1
),

openings as (
    select ticket_id, opening_event_id, opened_at, channel, person_id
    from (
        select
            ticket_id, event_id as opening_event_id, occurred_at as opened_at, channel, person_id,
            row_number() over (
                partition by ticket_id order by event_type = 'ticket_opened' desc, occurred_at, event_id
            ) as candidate_number
        from ticket_events
    ) as candidates
    where candidate_number = 1
),

first_responses as (
    select ticket_id, first_response_at, first_response_event_type
    from (
        select
            ticket_events.ticket_id,
            ticket_events.occurred_at as first_response_at,
            ticket_events.event_type as first_response_event_type,
            row_number() over (
                partition by ticket_events.ticket_id order by ticket_events.occurred_at, ticket_events.event_id
            ) as response_number
        from ticket_events
        inner join openings using (ticket_id)
        where ticket_events.event_id <> openings.opening_event_id
            and ticket_events.event_type <> 'ticket_opened'
            and ticket_events.occurred_at >= openings.opened_at
    ) as responses
    where response_number = 1
),

ticket_facts as (
    select
        ticket_id,
        min(occurred_at) filter (where event_type = 'ticket_resolved') as resolved_at,
        max(occurred_at) as last_contact_at,
        count(*) as n_touchpoints,
        min_by(issue_category, occurred_at) filter (where issue_category is not null) as issue_category,
        max_by(persona, occurred_at) filter (where persona is not null) as persona,
        min_by(order_id, occurred_at) filter (where order_id is not null) as order_id,
        min_by(person_id, occurred_at) filter (where person_id is not null) as any_person_id
    from ticket_events
    group by ticket_id
),

tickets as (
    select
        openings.ticket_id,
        openings.opening_event_id,
        coalesce(openings.person_id, ticket_facts.any_person_id) as person_id,
        openings.channel,
        coalesce(ticket_facts.issue_category, '(none)') as issue_category,
        coalesce(persons.persona, ticket_facts.persona) as persona,
        ticket_facts.order_id,
        openings.opened_at,
        first_responses.first_response_at,
        first_responses.first_response_event_type,
        ticket_facts.resolved_at,
        ticket_facts.last_contact_at,
        ticket_facts.n_touchpoints,
        {{ seconds_between('openings.opened_at', 'first_responses.first_response_at') }} as time_to_first_response_s,
        {{ seconds_between('openings.opened_at', 'ticket_facts.resolved_at') }} as time_to_resolution_s,
        {{ seconds_between('openings.opened_at', 'coalesce(ticket_facts.resolved_at, ' ~ as_of() ~ ')') }} as age_s,
        {{ seconds_between('openings.opened_at', 'coalesce(first_responses.first_response_at, ' ~ as_of() ~ ')') }}
            as waited_for_response_s
    from openings
    inner join ticket_facts using (ticket_id)
    left join first_responses using (ticket_id)
    left join persons on persons.person_id = coalesce(openings.person_id, ticket_facts.any_person_id)
),

with_previous as (
    select
        *,
        case when person_id is not null then lag(ticket_id) over by_person end as previous_ticket_id,
        case when person_id is not null then lag(last_contact_at) over by_person end as previous_last_contact_at,
        case when person_id is not null then lag(issue_category) over by_person end as previous_issue_category
    from tickets
    window by_person as (partition by person_id order by opened_at, ticket_id)
),

with_repeats as (
    select
        *,
        coalesce(
            opened_at <= previous_last_contact_at + {{ setting('repeat_contact_window_days') }} * interval 1 day, false
        ) as is_repeat_contact
    from with_previous
),

final as (
    select
        with_repeats.ticket_id,
        with_repeats.opening_event_id,
        with_repeats.person_id,
        with_repeats.channel,
        with_repeats.issue_category,
        with_repeats.persona,
        with_repeats.order_id,
        with_repeats.opened_at,
        date_trunc('month', with_repeats.opened_at)::date as opened_month,
        with_repeats.first_response_at,
        with_repeats.first_response_event_type,
        with_repeats.resolved_at,
        with_repeats.last_contact_at,
        with_repeats.n_touchpoints,
        with_repeats.first_response_at is not null as is_answered,
        with_repeats.resolved_at is not null as is_resolved,
        with_repeats.time_to_first_response_s,
        with_repeats.time_to_resolution_s,
        with_repeats.age_s,
        {{ setting('ticket_first_response_target_s') }} as first_response_target_s,
        {{ setting('ticket_resolution_target_s') }} as resolution_target_s,
        with_repeats.waited_for_response_s > {{ setting('ticket_first_response_target_s') }} as is_first_response_breached,
        with_repeats.age_s > {{ setting('ticket_resolution_target_s') }} as is_resolution_breached,
        (
            with_repeats.waited_for_response_s > {{ setting('ticket_first_response_target_s') }}
            or with_repeats.age_s > {{ setting('ticket_resolution_target_s') }}
        ) as is_breached,
        with_repeats.previous_ticket_id,
        with_repeats.is_repeat_contact,
        (
            with_repeats.is_repeat_contact and with_repeats.issue_category = with_repeats.previous_issue_category
        ) as is_repeat_same_issue,
        (
            coalesce(
                lead(with_repeats.is_repeat_contact) over (
                    partition by with_repeats.person_id order by with_repeats.opened_at, with_repeats.ticket_id
                ),
                false
            )
            and with_repeats.person_id is not null
        ) as is_followed_by_repeat_contact,
        surveys.nps_score,
        surveys.csat_score,
        surveys.ces_score
    from with_repeats
    left join surveys using (ticket_id)
)

select * from final
