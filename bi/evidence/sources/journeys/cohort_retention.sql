-- marts.cohort_retention: one row per cohort month, month since acquisition, breakdown and value.
select
    strftime(cohort_month, '%Y-%m') as cohort, cohort_month, months_since_acquisition, is_partial_month,
    breakdown, breakdown_value, n_customers, n_retained, retention_rate
from marts.cohort_retention
