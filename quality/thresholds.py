"""The numbers the quality gates judge against: the `quality_*` settings.

Each is a field of journeys/settings.py (type, rule, default and docstring there), so it is set like
every other setting: `quality_dead_letter_share_max: 0.05` in journeys.yaml or
JOURNEYS_QUALITY_DEAD_LETTER_SHARE_MAX=0.05. The gates' SQL and expectations name them without the
prefix (`$dead_letter_share_max`): a threshold is about the gate, the prefix about where it is set.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from journeys.settings import Settings

PREFIX = "quality_"


@dataclass(frozen=True)
class Thresholds:
    """The quality_* settings under their gate names; see journeys/settings.py for each one's meaning."""

    unmapped_event_share_max: float
    volume_drop_ratio_min: float
    volume_trailing_days: int
    volume_min_median: float
    dead_letter_share_max: float
    share_sum_tolerance: float
    sample_rows: int


assert {PREFIX + f.name for f in fields(Thresholds)} == {n for n in Settings.model_fields if n.startswith(PREFIX)}, \
    "the thresholds are the quality_* settings, all of them"


def thresholds(settings: Settings | None = None) -> Thresholds:
    """The thresholds of these settings (the defaults without any)."""
    settings = Settings() if settings is None else settings
    return Thresholds(**{f.name: getattr(settings, PREFIX + f.name) for f in fields(Thresholds)})
