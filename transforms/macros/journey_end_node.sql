{#
  How a journey ends, for the end nodes of marts.step_transitions and the journeys marts.pain_points
  counts as over: the two must agree, or the Sankey's drop-offs and the pain points' drop-offs would
  be different journeys. An expression on a row of marts.journeys (`journeys` is its alias):
    '(ongoing)' while the last touchpoint is within journey_gap_days of as_of and is not an exit: a
                touchpoint arriving now would still join the journey (transforms/classification.py
                starts a new one only after a longer gap), unless the customer has left (unsubscribe,
                cancellation);
    '(end)'     otherwise, when the journey converted;
    '(drop)'    otherwise.
  last_stage_kind is never NULL (int_touchpoints_stitched makes an unlisted event type 'unmapped').
#}
{% macro journey_end_node(journeys) -%}
    case
            when {{ journeys }}.ended_at >= {{ as_of() }} - {{ setting('journey_gap_days') }} * interval 1 day
                and {{ journeys }}.last_stage_kind <> 'exit' then '(ongoing)'
            when {{ journeys }}.is_converted then '(end)'
            else '(drop)'
        end
{%- endmacro %}
