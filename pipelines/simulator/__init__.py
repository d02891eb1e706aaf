"""Event simulator: a customer base whose touchpoints look like a real multi-channel business's.

    from journeys.pipelines.simulator import simulate, iter_events
    population = simulate(customers=2000, days=120, seed=7)   # ~100k events, sorted by received_at
    population.journeys                                        # ground truth, one row per journey
    for event in iter_events(250_000, 120, seed=7): ...        # constant memory, customer by customer

Layout: `personas` (who), `b2c` / `b2b` (journey recipes by shape), `segments` and `support`
(the building blocks recipes chain), `plan` (a journey in relative time), `events` (identifiers,
timestamps, ids), `linking` (stitchability and placeholder noise), `population` (the run).
"""

from .events import FIELD_NAMES
from .personas import SHAPES
from .population import JOURNEY_COLUMNS, SimulatedPopulation, iter_events, simulate

__all__ = ["FIELD_NAMES", "JOURNEY_COLUMNS", "SHAPES", "SimulatedPopulation", "iter_events", "simulate"]
