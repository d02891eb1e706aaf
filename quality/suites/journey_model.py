"""Persons and journeys: the stitched people and the journeys cut from their touchpoints."""

from __future__ import annotations

from journeys.quality.expect import between, in_set, key, not_null, sum_between, true
from journeys.quality.gates import WARN, gate
from journeys.schemas.contract import IDENTIFIERS

JOURNEY_TYPES = ("linear", "branching", "cyclical", "complex")
STAGE_KINDS = ("main", "detour", "exit")

PERSONS = [
    gate("marts.persons", "person_id_unique_not_null", "person_id is the grain.",
         "select person_id, customer_id from marts.persons",
         key("person_id")),
    gate("marts.persons", "person_profile_consistent",
         "A person has at most one customer_id and first_seen_at <= last_seen_at; every person but a shared-"
         "identifier profile (whose touchpoints may all go to more durable identifiers) has a touchpoint.",
         """select person_id, customer_id, is_shared_profile, n_customer_ids, n_events, first_seen_at, last_seen_at,
                   epoch(last_seen_at) - epoch(first_seen_at) as seconds_active,
                   case when not is_shared_profile then n_events end as n_events_of_customer
            from marts.persons""",
         between("n_customer_ids", 0, 1), between("n_events_of_customer", min_value=1),
         between("seconds_active", min_value=0)),
]

IDENTITY = [
    gate("marts.identity_map", "identifier_unique_not_null",
         "(identifier_type, identifier_value) is the grain, and every identifier belongs to a person of marts.persons.",
         """select m.identifier_type, m.identifier_value, m.person_id, p.person_id is not null as person_exists
            from marts.identity_map as m left join marts.persons as p using (person_id)""",
         key("identifier_type", "identifier_value"), not_null("person_id"), in_set("identifier_type", IDENTIFIERS),
         true("person_exists")),
    gate("marts.identity_conflicts", "reason_known", "Every refused merge has one of the three reasons.",
         "select reason, identifier_type, identifier_value from marts.identity_conflicts",
         in_set("reason", ("placeholder", "shared_identifier", "customer_id_conflict"))),
]

JOURNEYS = [
    gate("marts.journeys", "journey_id_unique_not_null", "journey_id is the grain.",
         "select journey_id, person_id, started_at from marts.journeys",
         key("journey_id")),
    gate("marts.journeys", "journey_type_valid",
         "Every journey is linear, branching, cyclical or complex.",
         "select journey_id, journey_type, classification_reason from marts.journeys",
         not_null("journey_type"), in_set("journey_type", JOURNEY_TYPES)),
    gate("marts.journeys", "journey_belongs_to_person", "Every journey has a person of marts.persons.",
         """select j.journey_id, j.person_id, p.person_id is not null as person_exists
            from marts.journeys as j left join marts.persons as p using (person_id)""",
         not_null("person_id"), true("person_exists")),
    gate("marts.journeys", "journey_outcome_consistent",
         "Times run forward, counts are positive, revenue is not negative, and a converted journey has a conversion.",
         """select journey_id, started_at, ended_at, n_touchpoints, n_steps, is_converted, n_conversions,
                   revenue, time_to_convert_s,
                   epoch(ended_at) - epoch(started_at) as duration_s,
                   is_converted = (n_conversions > 0) as is_converted_consistent
            from marts.journeys""",
         between("duration_s", min_value=0), between("n_touchpoints", min_value=1), between("n_steps", min_value=1),
         between("revenue", min_value=0), between("time_to_convert_s", min_value=0), true("is_converted_consistent")),
]

STEPS = [
    gate("marts.journey_steps", "step_unique_not_null",
         "(journey_id, step_number) is the grain and every touchpoint is in one journey only.",
         "select journey_id, step_number, event_id from marts.journey_steps",
         key("journey_id", "step_number"), key("event_id")),
    gate("marts.journey_steps", "step_belongs_to_journey", "Every step's journey is in marts.journeys.",
         """select s.journey_id, count(*) as n_steps, bool_or(j.journey_id is not null) as journey_exists
            from marts.journey_steps as s left join marts.journeys as j using (journey_id)
            group by s.journey_id""",
         true("journey_exists")),
    gate("marts.journey_steps", "unmapped_event_share",
         "At most unmapped_event_share_max of touchpoints have an event type the stage model does not map; "
         "the frame has one row per unmapped event type, most frequent first.",
         """with steps as (
                select event_type, coalesce(stage_kind, 'unmapped') = 'unmapped' as is_unmapped
                from marts.journey_steps
            )
            select event_type, count(*) as n_touchpoints,
                   count(*) / (select count(*) from steps) as share_of_touchpoints
            from steps where is_unmapped
            group by event_type order by n_touchpoints desc, event_type""",
         sum_between("share_of_touchpoints", max_value="$unmapped_event_share_max"),
         severity=WARN),
]

STAGE_MODEL = [
    gate("marts.stage_model", "event_type_unique", "Each event type is in one stage of the active model.",
         "select event_type, stage, stage_rank, stage_kind from marts.stage_model",
         key("event_type"), not_null("stage"), between("stage_rank", min_value=1), in_set("stage_kind", STAGE_KINDS)),
    gate("marts.stages", "stage_unique", "Each stage appears once, with its own rank.",
         "select stage, stage_rank from marts.stages",
         key("stage"), key("stage_rank")),
]

GATES = [*PERSONS, *IDENTITY, *JOURNEYS, *STEPS, *STAGE_MODEL]
