-- marts.attribution: one row per model, dimension and dimension value.
select model, dimension, dimension_value, conversions, revenue, currency, share, removal_effect
from marts.attribution
