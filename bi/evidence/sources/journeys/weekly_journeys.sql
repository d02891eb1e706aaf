-- marts.conversion at the ISO-week grain, broken down by journey type: one row per week and type.
select
    period_start as week_start, breakdown_value as journey_type, n_journeys, n_converted_journeys,
    conversion_rate, revenue, currency
from marts.conversion
where period_grain = 'week' and breakdown = 'journey_type'
