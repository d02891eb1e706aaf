"""Thresholds of the quality gates, with defaults.

Each can be overridden by a setting of the same name prefixed `quality_` (for instance
`quality_unmapped_event_share_max` in journeys.yaml) once Settings declares it; until then the
defaults below apply.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from journeys.settings import Settings


@dataclass(frozen=True)
class Thresholds:
    unmapped_event_share_max: float = 0.05
    """Largest share of journey touchpoints whose event type the stage model does not map. Above
    it stage analytics (funnels, drop-off) describe too little of the data to be trusted."""

    volume_drop_ratio_min: float = 0.5
    """A channel's events on the latest complete day below this fraction of its trailing median
    is a sudden drop: a source that stopped sending, a broken tag, a stuck connector."""

    volume_trailing_days: int = 28
    """Days before the latest complete day whose median is the baseline of the drop check."""

    volume_min_median: float = 20.0
    """Channels whose trailing daily median is below this are too small to judge a drop on."""

    dead_letter_share_max: float = 0.02
    """Largest share of consumed messages a load may dead-letter before the source looks broken."""

    share_sum_tolerance: float = 1e-6
    """Attribution shares of a converting journey may differ from 1 by this much (rounding)."""

    sample_rows: int = 5
    """Failing rows shown in a check's metadata."""


def thresholds(settings: Settings | None = None) -> Thresholds:
    """Defaults, overridden by any `quality_<name>` attribute the settings carry."""
    values = {}
    for f in dataclasses.fields(Thresholds):
        override = getattr(settings, f"quality_{f.name}", None) if settings is not None else None
        if override is not None:
            values[f.name] = type(f.default)(override)
    return Thresholds(**values)
