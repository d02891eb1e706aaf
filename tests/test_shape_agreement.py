"""The simulator's intended journey shapes against the warehouse's own classifier, end to end."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from journeys import warehouse
from journeys.pipelines.loader import load_file
from journeys.pipelines.sim_files import write_simulation
from journeys.pipelines.simulator import simulate
from tests.helpers import build_with

pytestmark = pytest.mark.slow


def test_classifier_agrees_with_intended_shapes_on_at_least_95_percent(settings, tmp_path):
    """1,000 simulated customers, loaded and built for real: >= 95% of intended journeys get their shape."""
    population = simulate(1000, 120, seed=21, label=True)
    path = tmp_path / "sim.parquet"
    write_simulation(path, 1000, 120, seed=21)  # the same events, streamed to a file
    load_file(settings, path)
    with warehouse.writer(settings) as con:
        build_with(con, settings)
        steps = con.execute("select s.event_id, j.journey_id, j.journey_type from marts.journey_steps s "
                            "join marts.journeys j using (journey_id)").fetchall()
    intended_of_event = {e["event_id"]: e["properties"]["sim_journey_id"] for e in population.events}
    classified = defaultdict(Counter)  # intended journey -> the classified journeys its events landed in
    for event_id, journey_id, journey_type in steps:
        classified[intended_of_event[event_id]][(journey_id, journey_type)] += 1
    shapes = dict(zip(population.journeys["sim_journey_id"], population.journeys["shape"]))
    agree = sum(counts.most_common(1)[0][0][1] == shapes[sim_id] for sim_id, counts in classified.items())
    assert len(classified) == len(shapes)
    assert agree / len(shapes) >= 0.95, f"{agree} of {len(shapes)} agree"
    # every shape is represented, so the figure is not carried by one easy shape
    assert set(shapes.values()) == {"linear", "branching", "cyclical", "complex"}
