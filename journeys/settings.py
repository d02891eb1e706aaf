"""Settings in one place: where the warehouse lives, how journeys and churn are defined.

Values come, in increasing priority, from the defaults below, a YAML config file and
environment variables. The config file is `$JOURNEYS_CONFIG`, else `journeys.yaml` in
`JOURNEYS_HOME`, else `journeys.yaml` in the working directory. Secrets (Kafka passwords,
the PII salt) are read only from the environment, never from the file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

DEFAULT_PLACEHOLDERS = ("", "0", "-1", "null", "none", "nan", "undefined", "anonymous", "guest", "unknown", "n/a")


@dataclass(frozen=True)
class Settings:
    home: Path = Path("journeys_home")
    """Folder of the warehouse, its published copy and Dagster's instance."""

    as_of: dt.datetime | None = None
    """Analysis date (UTC). None means the latest `occurred_at` in staging."""

    stage_model: str = "five_stage"
    """Name of a built-in stage model, or of one defined in `stage_models_file`."""

    stage_models_file: Path | None = None
    """YAML file with extra stage models (see transforms/stage_models/five_stage.yaml)."""

    journey_gap_days: int = 90
    """A gap longer than this between two touchpoints of a person starts a new journey."""

    journey_complex_min_returns: int = 1
    """A journey with at least this many returns to an earlier stage (before converting) is complex."""

    journey_complex_min_channels: int = 3
    """A journey on at least this many distinct channels is complex."""

    journey_cyclical_min_restarts: int = 1
    """A journey that starts over at a lower stage after a conversion this many times is cyclical."""

    journey_branching_min_detours: int = 1
    """A journey with at least this many detours (detour steps or revisits) is branching."""

    churn_inactive_days: int = 90
    """A customer inactive longer than this at the as-of date counts as churned."""

    at_risk_inactive_days: int = 45
    """Inactive longer than this (but not churned) is `at_risk` in the lifecycle."""

    identifier_placeholders: tuple[str, ...] = DEFAULT_PLACEHOLDERS
    """Identifier values (compared lower-cased, trimmed) that never link anything; all-zero values too."""

    identifier_person_limits: dict[str, int] = field(
        default_factory=lambda: {"anonymous_id": 1, "email_hash": 1, "phone_hash": 2, "loyalty_id": 1}
    )
    """Most distinct customer_ids one identifier value may be seen with before it stops merging."""

    max_event_future_s: int = 86_400
    """Events whose occurred_at is further than this past the ingestion clock are dead-lettered."""

    earliest_event_at: dt.datetime = dt.datetime(1990, 1, 1)
    """Events (occurred_at or received_at) before this UTC time are dead-lettered: year-1 or epoch-zero
    timestamps are broken clocks, not history."""

    ingest_chunk_messages: int = 10_000
    """Messages per chunk: the unit of decoding and of one DuckDB transaction (rows + offsets)."""

    ingest_batch_max_wait_s: float = 1.0
    """Longest time the ingester buffers messages before writing them (the latency bound)."""

    ingest_decode_workers: int = 2
    """Processes that decode Avro in parallel with consuming; 0 decodes in the consuming process."""

    publish_interval_s: float = 300.0
    """In follow mode, how often the ingester publishes a fresh read-only copy."""

    lag_sensor_threshold: int = 10_000
    """Consumer lag (messages) above which the Dagster sensor starts an ingest run."""

    new_customer_days: int = 30
    """A customer acquired (first conversion) less than this many days before as_of is `new`; one back
    from churn less than this many days ago is `resurrected`."""

    dormant_after_churn_days: int = 90
    """A churned customer whose churn began more than this many days before as_of is `dormant` (lost
    long ago) rather than `churned` (a recent loss: the win-back list)."""

    passive_event_types: tuple[str, ...] = ("ad_impression", "email_sent", "renewal_notice", "delivery")
    """Event types sent to a customer rather than done by them; they do not count as activity for churn."""

    clv_time_unit: str = "week"
    """Time unit of the BG/NBD fit ('day' or 'week'); its rates are per this unit."""

    clv_event_types: tuple[str, ...] = ("purchase",)
    """Conversions the CLV models are fitted on: non-contractual repeat buying. Other conversions
    (subscription_start, subscription_renewed) are contractual and count in historical value only."""

    clv_min_repeat_customers: int = 30
    """With fewer repeat buyers, predicted CLV falls back to historical value."""

    survey_attribution_window_days: int = 7
    """A survey response with no ticket or order rates the person's latest touchpoint within this many days before it."""

    repeat_contact_window_days: int = 7
    """A ticket opened within this many days after the person's previous ticket's last touchpoint is a repeat contact."""

    pain_points_min_n: int = 5
    """Slow transitions seen fewer times than this are listed but not ranked."""

    path_variant_max_steps: int = 25
    """Paths longer than this many collapsed steps are cut and end in ' > ...'."""

    ticket_first_response_target_s: int = 4 * 3600
    """Support SLA: first response target per ticket."""

    ticket_resolution_target_s: int = 48 * 3600
    """Support SLA: resolution target per ticket."""

    attribution_half_life_days: float = 7.0
    """Half-life of the time-decay attribution model."""

    clv_discount_rate_annual: float = 0.10
    """Annual discount rate for the 12-month predicted CLV."""

    clv_horizon_months: int = 12
    """Horizon of the predicted CLV."""

    at_risk_probability_alive: float = 0.3
    """Customers whose BG/NBD probability alive is below this are flagged at risk."""

    duckdb_memory_limit: str = "4GB"
    """DuckDB's memory cap for builds; it spills to disk beyond it."""

    duckdb_threads: int | None = None
    """Threads for DuckDB (None: all cores)."""

    # ---- derived paths -------------------------------------------------------
    @property
    def warehouse_path(self) -> Path:
        """The working DuckDB file: only the single writer opens it."""
        return self.home / "warehouse.duckdb"

    @property
    def lock_path(self) -> Path:
        return self.home / "warehouse.lock"

    @property
    def published_dir(self) -> Path:
        return self.home / "published"

    @property
    def published_path(self) -> Path:
        """Read-only copy of the last good build: what analysts and BI tools open."""
        return self.published_dir / "warehouse.duckdb"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"


_ENV = {
    "JOURNEYS_HOME": ("home", Path),
    "JOURNEYS_AS_OF": ("as_of", None),
    "JOURNEYS_STAGE_MODEL": ("stage_model", str),
    "JOURNEYS_STAGE_MODELS_FILE": ("stage_models_file", Path),
    "JOURNEYS_JOURNEY_GAP_DAYS": ("journey_gap_days", int),
    "JOURNEYS_CHURN_INACTIVE_DAYS": ("churn_inactive_days", int),
}


def parse_as_of(value: str | dt.datetime | dt.date | None) -> dt.datetime | None:
    """`2024-06-30` means the end of that day; a full timestamp is taken as UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None) if value.tzinfo is None else value.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(23, 59, 59, 999999))
    text = str(value).strip()
    if len(text) == 10:
        return parse_as_of(dt.date.fromisoformat(text))
    return parse_as_of(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))


def _config_file(env: dict[str, str]) -> Path | None:
    candidates = [env.get("JOURNEYS_CONFIG")]
    if env.get("JOURNEYS_HOME"):
        candidates.append(str(Path(env["JOURNEYS_HOME"]) / "journeys.yaml"))
    candidates.append("journeys.yaml")
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    if env.get("JOURNEYS_CONFIG"):
        raise FileNotFoundError(f"JOURNEYS_CONFIG points at {env['JOURNEYS_CONFIG']}, which does not exist")
    return None


def _coerce(name: str, value):
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    if name not in fields:
        raise ValueError(f"unknown setting {name!r} in config file; known: {', '.join(sorted(fields))}")
    if name in ("as_of", "earliest_event_at"):
        return parse_as_of(value)
    if name in ("home", "stage_models_file"):
        return Path(value) if value is not None else None
    if name == "identifier_placeholders":
        return tuple(str(v).strip().lower() for v in value)
    if name in ("passive_event_types", "clv_event_types"):
        return tuple(str(v).strip() for v in value)
    if name == "identifier_person_limits":
        return {str(k): int(v) for k, v in value.items()}
    return value


def load_settings(env: dict[str, str] | None = None, **overrides) -> Settings:
    """Defaults < config file < environment < explicit overrides."""
    env = dict(os.environ if env is None else env)
    values: dict = {}
    config = _config_file(env)
    if config is not None:
        raw = yaml.safe_load(config.read_text()) or {}
        if not isinstance(raw, dict):
            raise ValueError(f"{config}: expected a mapping of setting: value")
        values.update({k: _coerce(k, v) for k, v in raw.items()})
    for var, (name, cast) in _ENV.items():
        if env.get(var):
            values[name] = parse_as_of(env[var]) if name == "as_of" else cast(env[var])
    values.update({k: _coerce(k, v) for k, v in overrides.items() if v is not None})
    return Settings(**values)
