-- The event-grain reads (journey_steps) are inlined: each aggregate below scans the table for the
-- narrow columns it needs, and nothing event-sized is held as a materialized CTE.
with mapped_steps {{ inline_cte() }} (
    select journey_id, event_id, step_number, channel, event_type, stage, stage_rank, stage_kind
    from {{ ref('journey_steps') }}
    where occurred_at <= {{ as_of() }} and stage_rank is not null
),

stages as (
    select stage, stage_rank, stage_rank = max(stage_rank) over () as is_last_stage
    from {{ ref('stages') }}
),

journeys as (
    select
        journeys.journey_id,
        journeys.person_id,
        coalesce(journeys.persona, '(none)') as persona,
        {{ journey_end_node('journeys') }} as end_node,
        row_number() over (
            partition by journeys.person_id order by journeys.started_at desc, journeys.journey_id desc
        ) as recency_number
    from {{ ref('journeys') }} as journeys
    where journeys.started_at <= {{ as_of() }}
),

-- Every journey twice: in its persona's map and in the map of all personas.
journey_personas as (
    select
        journeys.journey_id,
        case when scopes.scope = 'all' then 'all' else journeys.persona end as persona
    from journeys
    cross join (values ('all'), ('persona')) as scopes (scope)
),

-- The dwell at a touchpoint: the time until the journey's next touchpoint, mapped or not.
dwells as (
    select journey_id, stage_rank, channel, event_type, dwell_s
    from (
        select
            journey_id, stage_rank, channel, event_type,
            lead(seconds_since_previous_step) over (partition by journey_id order by step_number) as dwell_s
        from {{ ref('journey_steps') }}
        where occurred_at <= {{ as_of() }}
    ) as with_next
    where stage_rank is not null
),

ranked_dwells as (
    select
        journey_personas.persona,
        dwells.stage_rank,
        dwells.channel,
        dwells.event_type,
        dwells.dwell_s,
        {{ percentile_ranks('dwell_s', ['journey_personas.persona', 'dwells.stage_rank', 'dwells.channel',
                                        'dwells.event_type']) }}
    from dwells
    inner join journey_personas using (journey_id)
),

dwell_figures as (
    select
        persona,
        stage_rank,
        channel,
        event_type,
        count(dwell_s) as n_dwells,
        {{ exact_percentile('dwell_s', 0.5) }} as median_dwell_s,
        {{ exact_percentile('dwell_s', 0.9) }} as p90_dwell_s
    from ranked_dwells
    group by persona, stage_rank, channel, event_type
),

-- Per journey and stage: its last step there, and the last step at any later stage (NULL when none).
journey_stage_steps as (
    select
        journey_id,
        stage_rank,
        max(last_step_number) over (
            partition by journey_id order by stage_rank desc rows between unbounded preceding and 1 preceding
        ) as last_later_stage_step_number
    from (
        select journey_id, stage_rank, max(step_number) as last_step_number
        from mapped_steps
        group by journey_id, stage_rank
    ) as per_stage
),

journey_touchpoints as (
    select
        journey_touchpoints.journey_id,
        journey_touchpoints.stage_rank,
        journey_touchpoints.channel,
        journey_touchpoints.event_type,
        journey_touchpoints.stage_kind,
        journey_touchpoints.n_touchpoints,
        coalesce(
            journey_stage_steps.last_later_stage_step_number > journey_touchpoints.first_step_number, false
        ) as went_on
    from (
        select
            journey_id, stage_rank, channel, event_type,
            min(stage_kind) as stage_kind,
            min(step_number) as first_step_number,
            count(*) as n_touchpoints
        from mapped_steps
        group by journey_id, stage_rank, channel, event_type
    ) as journey_touchpoints
    inner join journey_stage_steps
        on journey_stage_steps.journey_id = journey_touchpoints.journey_id
        and journey_stage_steps.stage_rank = journey_touchpoints.stage_rank
),

reach as (
    select
        journey_personas.persona,
        journey_touchpoints.stage_rank,
        journey_touchpoints.channel,
        journey_touchpoints.event_type,
        min(journey_touchpoints.stage_kind) as stage_kind,
        count(*) as n_journeys,
        sum(journey_touchpoints.n_touchpoints)::bigint as n_touchpoints,
        count(*) filter (where journey_touchpoints.went_on) as n_went_on
    from journey_touchpoints
    inner join journey_personas using (journey_id)
    group by
        journey_personas.persona, journey_touchpoints.stage_rank, journey_touchpoints.channel,
        journey_touchpoints.event_type
),

stage_journeys as (
    select journey_personas.persona, journey_stage_steps.stage_rank, count(*) as n_stage_journeys
    from journey_stage_steps
    inner join journey_personas using (journey_id)
    group by journey_personas.persona, journey_stage_steps.stage_rank
),

journey_stops as (
    select journey_id, max(step_number) as stop_step_number
    from mapped_steps
    group by journey_id
),

-- What a customer like them is worth, for a prospect (no prediction of their own): the mean over the
-- persona's customers.
persona_values as (
    select
        coalesce(persona, '(none)') as persona,
        avg(coalesce(predicted_clv_12m, revenue_to_date)) as mean_customer_value
    from {{ ref('customer_value') }}
    group by coalesce(persona, '(none)')
),

-- A dropped journey stops at its last mapped touchpoint. Its value is at stake there only when it
-- is the person's latest journey: one who came back since was not lost at it.
dropped_journeys as (
    select
        journeys.journey_id,
        stops.stop_step_number,
        journeys.recency_number = 1 and customer_value.person_id is not null as is_customer_at_stake,
        journeys.recency_number = 1 and customer_value.person_id is null as is_prospect_at_stake,
        case
            when journeys.recency_number > 1 then 0.0
            when customer_value.person_id is not null
                then coalesce(customer_value.predicted_clv_12m, customer_value.revenue_to_date, 0.0)
            else coalesce(persona_values.mean_customer_value, 0.0)
        end as value_at_stake
    from journeys
    inner join journey_stops as stops on stops.journey_id = journeys.journey_id
    left join {{ ref('customer_value') }} as customer_value on customer_value.person_id = journeys.person_id
    left join persona_values on persona_values.persona = journeys.persona
    where journeys.end_node = '(drop)'
),

drops as (
    select
        journey_personas.persona,
        mapped_steps.stage_rank,
        mapped_steps.channel,
        mapped_steps.event_type,
        count(*) as n_dropped,
        count(*) filter (where dropped_journeys.is_customer_at_stake) as n_customers_at_stake,
        count(*) filter (where dropped_journeys.is_prospect_at_stake) as n_prospects_at_stake,
        sum(dropped_journeys.value_at_stake) as value_at_stake
    from dropped_journeys
    inner join mapped_steps
        on mapped_steps.journey_id = dropped_journeys.journey_id
        and mapped_steps.step_number = dropped_journeys.stop_step_number
    inner join journey_personas on journey_personas.journey_id = dropped_journeys.journey_id
    group by journey_personas.persona, mapped_steps.stage_rank, mapped_steps.channel, mapped_steps.event_type
),

-- Satisfaction measured after a touchpoint: the responses that rate it (marts.survey_responses).
rated_responses as (
    select
        case when scopes.scope = 'all' then 'all' else coalesce(responses.persona, '(none)') end as persona,
        stages.stage_rank,
        responses.rated_channel as channel,
        responses.rated_event_type as event_type,
        responses.nps_score,
        responses.is_promoter,
        responses.is_detractor,
        responses.csat_score,
        responses.is_csat_satisfied,
        responses.ces_score
    from {{ ref('survey_responses') }} as responses
    inner join stages on stages.stage = responses.rated_stage
    cross join (values ('all'), ('persona')) as scopes (scope)
),

satisfaction as (
    select
        persona,
        stage_rank,
        channel,
        event_type,
        {{ satisfaction_scores() }}
    from rated_responses
    group by persona, stage_rank, channel, event_type
),

persona_satisfaction as (
    select
        persona,
        100 * (share_promoters - share_detractors) as persona_nps,
        csat as persona_csat
    from (
        select persona, {{ satisfaction_scores() }}
        from rated_responses
        group by persona
    ) as persona_scores
),

-- Repeat contacts opened at a touchpoint: the tickets it opened (marts.support_tickets).
tickets as (
    select
        journey_personas.persona,
        mapped_steps.stage_rank,
        mapped_steps.channel,
        mapped_steps.event_type,
        count(*) as n_tickets,
        count(*) filter (where support_tickets.is_repeat_contact) as n_repeat_contacts
    from {{ ref('support_tickets') }} as support_tickets
    inner join mapped_steps on mapped_steps.event_id = support_tickets.opening_event_id
    inner join journey_personas on journey_personas.journey_id = mapped_steps.journey_id
    group by journey_personas.persona, mapped_steps.stage_rank, mapped_steps.channel, mapped_steps.event_type
),

persona_tickets as (
    select persona, sum(n_repeat_contacts) / sum(n_tickets) as persona_repeat_contact_rate
    from tickets
    group by persona
),

joined as (
    select
        reach.persona,
        stages.stage,
        reach.stage_rank,
        stages.is_last_stage,
        reach.channel,
        reach.event_type,
        reach.stage_kind,
        reach.n_journeys,
        stage_journeys.n_stage_journeys,
        reach.n_touchpoints,
        reach.n_went_on,
        coalesce(dwell_figures.n_dwells, 0) as n_dwells,
        dwell_figures.median_dwell_s,
        dwell_figures.p90_dwell_s,
        coalesce(satisfaction.n_nps_responses, 0) as n_nps_responses,
        satisfaction.share_promoters,
        satisfaction.share_detractors,
        coalesce(satisfaction.n_csat_responses, 0) as n_csat_responses,
        satisfaction.csat,
        coalesce(satisfaction.n_ces_responses, 0) as n_ces_responses,
        satisfaction.ces,
        satisfaction.ces_sd,
        persona_satisfaction.persona_nps,
        persona_satisfaction.persona_csat,
        coalesce(tickets.n_tickets, 0) as n_tickets,
        coalesce(tickets.n_repeat_contacts, 0) as n_repeat_contacts,
        persona_tickets.persona_repeat_contact_rate,
        coalesce(drops.n_dropped, 0) as n_dropped,
        coalesce(drops.n_customers_at_stake, 0) as n_customers_at_stake,
        coalesce(drops.n_prospects_at_stake, 0) as n_prospects_at_stake,
        coalesce(drops.value_at_stake, 0.0) as value_at_stake
    from reach
    inner join stages on stages.stage_rank = reach.stage_rank
    inner join stage_journeys on stage_journeys.persona = reach.persona and stage_journeys.stage_rank = reach.stage_rank
    left join dwell_figures
        on dwell_figures.persona = reach.persona and dwell_figures.stage_rank = reach.stage_rank
        and dwell_figures.channel = reach.channel and dwell_figures.event_type = reach.event_type
    left join satisfaction
        on satisfaction.persona = reach.persona and satisfaction.stage_rank = reach.stage_rank
        and satisfaction.channel = reach.channel and satisfaction.event_type = reach.event_type
    left join persona_satisfaction on persona_satisfaction.persona = reach.persona
    left join tickets
        on tickets.persona = reach.persona and tickets.stage_rank = reach.stage_rank
        and tickets.channel = reach.channel and tickets.event_type = reach.event_type
    left join persona_tickets on persona_tickets.persona = reach.persona
    left join drops
        on drops.persona = reach.persona and drops.stage_rank = reach.stage_rank
        and drops.channel = reach.channel and drops.event_type = reach.event_type
),

scored as (
    select
        *,
        100 * (share_promoters - share_detractors) as nps,
        {{ nps_margin_of_error('share_promoters', 'share_detractors', 'n_nps_responses') }} as nps_margin_of_error,
        {{ csat_margin_of_error('csat', 'n_csat_responses') }} as csat_margin_of_error,
        {{ ces_margin_of_error('ces_sd', 'n_ces_responses') }} as ces_margin_of_error,
        case
            when n_dropped > 0
                then row_number() over (partition by persona order by n_dropped desc, stage_rank, channel, event_type)
        end as drop_off_rank,
        case
            when n_dwells >= {{ setting('pain_points_min_n') }}
                then row_number() over (
                    partition by persona, n_dwells >= {{ setting('pain_points_min_n') }}
                    order by median_dwell_s desc, stage_rank, channel, event_type
                )
        end as dwell_rank
    from joined
),

flagged as (
    select
        *,
        coalesce(drop_off_rank <= {{ journey_map_top_n() }}, false) as is_top_drop_off,
        coalesce(dwell_rank <= {{ journey_map_top_n() }}, false) as is_long_dwell,
        (
            (n_csat_responses >= {{ setting('pain_points_min_n') }} and csat + csat_margin_of_error < persona_csat)
            or (n_nps_responses >= {{ setting('pain_points_min_n') }} and nps + nps_margin_of_error < persona_nps)
        ) as is_low_satisfaction,
        n_repeat_contacts > 0 and n_repeat_contacts / n_tickets >= persona_repeat_contact_rate as is_repeat_contact
    from scored
),

final as (
    select
        persona,
        stage,
        stage_rank,
        channel,
        event_type,
        stage_kind,
        n_journeys,
        n_stage_journeys,
        n_journeys / n_stage_journeys as share_of_stage_journeys,
        n_touchpoints,
        median_dwell_s,
        p90_dwell_s,
        case when not is_last_stage then n_went_on end as n_went_on,
        case when not is_last_stage then n_went_on / n_journeys end as next_stage_rate,
        n_csat_responses,
        csat,
        csat_margin_of_error,
        n_nps_responses,
        nps,
        nps_margin_of_error,
        n_ces_responses,
        ces,
        ces_margin_of_error,
        n_dropped,
        n_dropped / n_journeys as drop_off_rate,
        drop_off_rank::bigint as drop_off_rank,
        dwell_rank::bigint as dwell_rank,
        n_tickets,
        n_repeat_contacts,
        n_repeat_contacts / nullif(n_tickets, 0) as repeat_contact_rate,
        coalesce(is_low_satisfaction, false) as is_low_satisfaction,
        is_top_drop_off,
        is_long_dwell,
        coalesce(is_repeat_contact, false) as is_repeat_contact,
        nullif(
            concat_ws(
                ', ',
                case when is_top_drop_off then 'top_drop_off' end,
                case when is_long_dwell then 'long_dwell' end,
                case when coalesce(is_low_satisfaction, false) then 'low_satisfaction' end,
                case when coalesce(is_repeat_contact, false) then 'repeat_contact' end
            ),
            ''
        ) as pain_flags,
        n_customers_at_stake,
        n_prospects_at_stake,
        value_at_stake,
        {{ setting('reporting_currency') }} as currency
    from flagged
)

select * from final
