"""Settings in one place: where the warehouse lives, how journeys and churn are defined.

Values come, in increasing priority, from the defaults below, a YAML config file, environment
variables and explicit overrides (`load_settings(home=...)`, the Dagster resource). The config
file is `$JOURNEYS_CONFIG`, else `journeys.yaml` in `JOURNEYS_HOME`, else `journeys.yaml` in the
working directory; it may set any field by its name. Every field is also settable from the
environment as `JOURNEYS_<FIELD_NAME_UPPER>` (an empty variable is unset); lists are written
`a,b` or `[a, b]`, mappings `k=1,k2=2` or `{k: 1, k2: 2}`. Secrets (Kafka passwords, the PII
salt) are not settings: they are read only from the environment, never from the file
(pipelines/kafka_config.py, schemas/contract.py).

Each field declares its rule beside its default (`setting(default, rule)`). The rule checks type
and range and normalises the value (`"90"` from the environment becomes 90) whenever a Settings
is made, directly or by `load_settings`, so a bad value stops a command before it does anything.
It raises SettingsError: one line naming the setting and where its value came from.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import math
import numbers
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from journeys.schemas.contract import IDENTIFIERS
from journeys.transforms.currency import DEFAULT_RATES_FILE

DEFAULT_PLACEHOLDERS = ("", "0", "-1", "null", "none", "nan", "undefined", "anonymous", "guest", "unknown", "n/a")
ENV_PREFIX = "JOURNEYS_"
CONFIG_ENV = "JOURNEYS_CONFIG"


class SettingsError(ValueError):
    """A setting that cannot be used. Its message is one line: where the value came from (file or
    environment variable), the setting, and what is wrong with the value."""

    def __init__(self, reason: str, setting: str | None = None, source: str | None = None,
                 blame: dict[str, str] | None = None):
        self.reason, self.setting, self.source = reason, setting, source
        self.blame = blame if blame is not None else ({setting: reason} if setting else {})
        """How to word the error against each setting involved (a rule on two settings): the loader
        names the one whose value the user gave."""
        where = source or setting
        super().__init__(f"{where}: {reason}" if where else reason)


class _Invalid(Exception):
    """A rule refused a value; the reason, without the setting's name."""


# ---- rules: what each kind of value must be ------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    check: Callable[[Any], Any]
    """Returns the normalised value, or raises _Invalid with the reason."""
    text: Callable[[str], Any] = str
    """Turns an environment variable's text into what `check` takes (lists and mappings are parsed)."""


def _flow_yaml(text: str):
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise _Invalid(f"not valid YAML: {' '.join(str(error).split())}") from None


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def integer(minimum: int, optional: bool = False, maximum: int | None = None) -> Rule:
    """An integer >= minimum (and <= maximum). Maxima keep date arithmetic inside DuckDB's ranges: a
    gap of 10^9 days is no business rule, and it overflows every build."""
    want = f"an integer >= {minimum}" + (" or null" if optional else "")

    def check(value):
        if optional and value is None:
            return None
        if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
            value = int(value)
        if not _is_int(value) or value < minimum:
            raise _Invalid(f"must be {want}, got {value!r}")
        if maximum is not None and value > maximum:
            raise _Invalid(f"must be an integer <= {maximum:,}, got {value!r}")
        return int(value)

    return Rule(check)


def number(above: float | None = None, at_least: float | None = None, at_most: float | None = None) -> Rule:
    if above is not None and at_most is not None:
        want = f"a number > {above:g} and <= {at_most:g}"
    elif above is not None:
        want = f"a number > {above:g}"
    elif at_most is not None:
        want = f"a number between {at_least:g} and {at_most:g}"
    else:
        want = f"a number >= {at_least:g}"

    def check(value):
        number_ = value
        if isinstance(value, str):
            try:
                number_ = float(value)
            except ValueError:
                raise _Invalid(f"must be {want}, got {value!r}") from None
        if (not isinstance(number_, numbers.Real) or isinstance(number_, bool) or not math.isfinite(number_)
                or (above is not None and not number_ > above)
                or (at_least is not None and not number_ >= at_least)
                or (at_most is not None and not number_ <= at_most)):
            raise _Invalid(f"must be {want}, got {value!r}")
        return float(number_)

    return Rule(check)


def choice(*options: str) -> Rule:
    def check(value):
        if not isinstance(value, str) or value.strip().lower() not in options:
            raise _Invalid(f"must be one of {', '.join(options)}, got {value!r}")
        return value.strip().lower()

    return Rule(check)


_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(kb|mb|gb|tb|kib|mib|gib|tib)\s*", re.IGNORECASE)
_PERCENT = re.compile(r"\s*(\d+(?:\.\d+)?)\s*%\s*")
_BYTES = {"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def memory_size() -> Rule:
    """What DuckDB's memory_limit takes: a size, or a share of the machine's RAM."""
    want = "a size like '4GB' (KB, MB, GB, TB or KiB, MiB, GiB, TiB; at least 1MB) or a share of RAM like '80%'"

    def check(value):
        text = value if isinstance(value, str) else ""
        size, percent = _SIZE.fullmatch(text), _PERCENT.fullmatch(text)
        if size and float(size[1]) * _BYTES[size[2].lower()] >= 1e6:
            return f"{size[1]}{size[2].upper().replace('I', 'i')}"
        if percent and 0 < float(percent[1]) <= 100:
            return f"{percent[1]}%"
        raise _Invalid(f"must be {want}, got {value!r}")

    return Rule(check)


def path(optional: bool = False) -> Rule:
    def check(value):
        if optional and value is None:
            return None
        if not isinstance(value, (str, os.PathLike)) or not str(value).strip():
            raise _Invalid(f"must be a file or folder path, got {value!r}")
        return Path(str(value).strip()).expanduser()

    return Rule(check)


def _timestamp(value, end_of_day: bool) -> dt.datetime:
    """A datetime (aware ones converted to UTC), a date, or ISO text; naive means UTC."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo is None else value.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(23, 59, 59, 999999) if end_of_day else dt.time())
    text = value.strip() if isinstance(value, str) else None
    try:
        if text is not None and len(text) == 10:
            return _timestamp(dt.date.fromisoformat(text), end_of_day)
        if text:
            return _timestamp(dt.datetime.fromisoformat(text.replace("Z", "+00:00")), end_of_day)
    except ValueError:
        pass
    raise _Invalid(f"not a date or ISO timestamp: {value!r}")


def timestamp(optional: bool = False, end_of_day: bool = False) -> Rule:
    """A date alone means the end of that day for an as-of date, its start for a lower bound."""
    def check(value):
        if optional and (value is None or value == ""):
            return None
        return _timestamp(value, end_of_day)

    return Rule(check)


def _list_text(text: str):
    return _flow_yaml(text) if text.lstrip().startswith("[") else text.split(",")


def names(lower: bool = False, allow_empty_name: bool = False, min_items: int = 0) -> Rule:
    """A list of strings (a YAML list; `a,b` or `[a, b]` from the environment), trimmed."""
    def check(value):
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise _Invalid(f"must be a list of names, got {value!r}")
        out = []
        for item in value:
            if not isinstance(item, str) or (not item.strip() and not allow_empty_name):
                raise _Invalid(f"must be a list of names, but it holds {item!r}")
            out.append(item.strip().lower() if lower else item.strip())
        if len(out) < min_items:
            raise _Invalid(f"must list at least {min_items} name{'s' if min_items > 1 else ''}, got {list(value)!r}")
        return tuple(out)

    return Rule(check, _list_text)


_NOT_RE2 = re.compile(r"\(\?<?[=!]|\\[1-9]")


def regexes(min_items: int = 1) -> Rule:
    """A list of regular expressions that both Python and DuckDB (RE2: no lookarounds, no
    backreferences) run the same way."""
    as_names = names(min_items=min_items)

    def check(value):
        patterns = as_names.check(value)
        for pattern in patterns:
            if _NOT_RE2.search(pattern):
                raise _Invalid(f"{pattern!r} uses a lookaround or backreference, which DuckDB's RE2 cannot run")
            try:
                re.compile(pattern)
            except re.error as problem:
                raise _Invalid(f"{pattern!r} is not a regular expression: {problem}") from None
        return patterns

    return Rule(check, _list_text)


def _mapping_text(text: str):
    if text.lstrip().startswith("{"):
        return _flow_yaml(text)
    pairs = [p.split("=", 1) for p in text.split(",") if p.strip()]
    if any(len(p) != 2 for p in pairs):
        raise _Invalid(f"expected name=value,name=value or {{name: value}}, got {text!r}")
    return {k.strip(): v.strip() for k, v in pairs}


def person_limits() -> Rule:
    limit = integer(1).check

    def check(value):
        if not isinstance(value, Mapping):
            raise _Invalid(f"must be a mapping of identifier type to an integer >= 1, got {value!r}")
        out = {}
        for key, item in value.items():
            if key not in IDENTIFIERS:
                raise _Invalid(f"unknown identifier type {key!r}; known: {', '.join(IDENTIFIERS)}")
            try:
                out[key] = limit(item)
            except _Invalid as error:
                raise _Invalid(f"{key}: {error}") from None
        return out

    return Rule(check, _mapping_text)


_SNAKE = re.compile(r"[a-z][a-z0-9_]*")


def model_name() -> Rule:
    """The name's form; that a model of this name exists is checked with stage_models_file."""
    def check(value):
        if not isinstance(value, str) or not _SNAKE.fullmatch(value.strip()):
            raise _Invalid(f"must be the snake_case name of a stage model, got {value!r}")
        return value.strip()

    return Rule(check)


def currency_code() -> Rule:
    """An ISO 4217 code: three letters, upper-cased ('eur' is EUR)."""
    def check(value):
        if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z]{3}", value.strip()):
            raise _Invalid(f"must be a 3-letter ISO 4217 currency code like 'EUR', got {value!r}")
        return value.strip().upper()

    return Rule(check)


def rates_file() -> Rule:
    """An existing exchange-rate YAML file (transforms/currency.py) that parses, its rates positive and finite."""
    def check(value):
        from journeys.transforms.currency import RatesError, read_rates

        file = path().check(value)
        try:
            read_rates(file)
        except RatesError as problem:
            raise _Invalid(str(problem)) from None
        return file

    return Rule(check)


def setting(default: Any = None, rule: Rule | None = None, *, factory: Callable[[], Any] | None = None):
    """A Settings field with its default and its rule."""
    if factory is not None:
        return field(default_factory=factory, metadata={"rule": rule})
    return field(default=default, metadata={"rule": rule})


# ---- the settings ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    home: Path = setting(Path("journeys_home"), path())
    """Folder of the warehouse, its published copy and Dagster's instance."""

    as_of: dt.datetime | None = setting(None, timestamp(optional=True, end_of_day=True))
    """Analysis date (UTC). None means the latest `occurred_at` in raw. A date alone means the end of that day."""

    stage_model: str = setting("five_stage", model_name())
    """Name of a built-in stage model (transforms/stage_models/*.yaml), or of one defined in `stage_models_file`."""

    stage_models_file: Path | None = setting(None, path(optional=True))
    """YAML file with extra stage models (see transforms/stage_models/five_stage.yaml)."""

    custom_models_dir: Path | None = setting(None, path(optional=True))
    """Folder of your own dbt models (`name.sql`, optional `name.yml`): built into the schema `custom`
    after ours, checked and published with them; they may `ref()` any of our models by name."""

    journey_gap_days: int = setting(90, integer(1, maximum=36_500))
    """A gap longer than this between two touchpoints of a person starts a new journey."""

    journey_complex_min_returns: int = setting(1, integer(1))
    """A journey with at least this many returns to an earlier stage (before converting) is complex."""

    journey_complex_min_channels: int = setting(3, integer(1))
    """A journey on at least this many distinct channels is complex."""

    journey_cyclical_min_restarts: int = setting(1, integer(1))
    """A journey that starts over at a lower stage after a conversion this many times is cyclical."""

    journey_branching_min_detours: int = setting(1, integer(1))
    """A journey with at least this many detours (detour steps or revisits) is branching."""

    churn_inactive_days: int = setting(90, integer(1, maximum=36_500))
    """A customer inactive longer than this at the as-of date counts as churned."""

    at_risk_inactive_days: int = setting(45, integer(1, maximum=36_500))
    """Inactive longer than this (but not churned) is `at_risk` in the lifecycle; less than churn_inactive_days."""

    identifier_placeholders: tuple[str, ...] = setting(DEFAULT_PLACEHOLDERS, names(lower=True, allow_empty_name=True))
    """Identifier values (compared lower-cased, trimmed) that never link anything; all-zero values too."""

    identifier_person_limits: dict[str, int] = setting(
        rule=person_limits(),
        factory=lambda: {"anonymous_id": 1, "email_hash": 1, "phone_hash": 2, "loyalty_id": 1},
    )
    """Most distinct customer_ids one identifier value may be seen with before it stops merging; an
    identifier type not listed has no limit."""

    max_event_future_s: int = setting(86_400, integer(0, maximum=3_153_600_000))
    """Events whose occurred_at is further than this past the ingestion clock are dead-lettered."""

    earliest_event_at: dt.datetime = setting(dt.datetime(1990, 1, 1), timestamp())
    """Events (occurred_at or received_at) before this UTC time are dead-lettered: year-1 or epoch-zero
    timestamps are broken clocks, not history. A date alone means the start of that day."""

    ingest_chunk_messages: int = setting(10_000, integer(1))
    """Messages per chunk: the unit of decoding and of one DuckDB transaction (rows + offsets)."""

    ingest_batch_max_wait_s: float = setting(1.0, number(above=0))
    """Longest time the ingester buffers messages before writing them (the latency bound)."""

    ingest_decode_workers: int = setting(2, integer(0))
    """Processes that decode Avro in parallel with consuming; 0 decodes in the consuming process."""

    pii_email_field_patterns: tuple[str, ...] = setting((
        r"(?:user|contact|customer|client|primary|secondary|work|personal|private|billing|shipping|account|login"
        r"|sender|recipient|reply|notification)?e?mail(?:address|addr)?",), regexes())
    """Regular expressions fully matched against a field or property name, lower-cased with everything
    but a-z and 0-9 removed (`E-Mail Address` is `emailaddress`): a match is an e-mail field, dropped
    and hashed into email_hash (schemas/pii.py)."""

    pii_phone_field_patterns: tuple[str, ...] = setting((
        r"(?:user|contact|customer|client|primary|secondary|work|home|personal|private|billing|shipping|account"
        r"|mobile|cell)?(?:phone|telephone|tel|mobile|cell|cellphone|msisdn|whatsapp)(?:number|num|no|nr)?",), regexes())
    """The same, for phone fields, hashed into phone_hash."""

    pii_phone_field_min_digits: int = setting(7, integer(1))
    """A phone field's value is hashed only with at least this many digits (else it is dropped unhashed:
    'n/a' in a phone column must not link everyone who wrote it)."""

    file_max_line_bytes: int = setting(1 << 20, integer(1024))
    """A CSV or JSON-lines line longer than this is dead-lettered unread (journeys load / produce --file)."""

    ingest_verify_interval_s: float = setting(10.0, number(above=0))
    """In follow mode, how often the ingester checks that the broker still holds the log it has read
    (a restarted broker or re-created topic is detected and recorded in raw.ingest_gaps)."""

    publish_interval_s: float = setting(300.0, number(above=0))
    """In follow mode, how often the ingester publishes a fresh read-only copy."""

    build_lock_timeout_s: float = setting(600.0, number(at_least=0))
    """How long `journeys build` waits for another build to finish before refusing (0: refuse at once)."""

    lag_sensor_threshold: int = setting(10_000, integer(0))
    """Consumer lag (messages) above which the Dagster sensor starts an ingest run."""

    new_customer_days: int = setting(30, integer(1, maximum=36_500))
    """A customer acquired (first conversion) less than this many days before as_of is `new`; one back
    from churn less than this many days ago is `resurrected`."""

    dormant_after_churn_days: int = setting(90, integer(1, maximum=36_500))
    """A churned customer whose churn began more than this many days before as_of is `dormant` (lost
    long ago) rather than `churned` (a recent loss: the win-back list)."""

    passive_event_types: tuple[str, ...] = setting(("ad_impression", "email_sent", "renewal_notice", "delivery"),
                                                   names())
    """Event types sent to a customer rather than done by them; they do not count as activity for churn."""

    clv_time_unit: str = setting("week", choice("day", "week"))
    """Time unit of the BG/NBD fit ('day' or 'week'); its rates are per this unit."""

    clv_event_types: tuple[str, ...] = setting(("purchase",), names(min_items=1))
    """Conversions the CLV models are fitted on: non-contractual repeat buying. Other conversions
    (subscription_start, subscription_renewed) are contractual and count in historical value only."""

    clv_min_repeat_customers: int = setting(30, integer(1))
    """With fewer repeat buyers, predicted CLV falls back to historical value."""

    survey_attribution_window_days: int = setting(7, integer(1, maximum=36_500))
    """A survey response with no ticket or order rates the person's latest touchpoint within this many days before it."""

    repeat_contact_window_days: int = setting(7, integer(1, maximum=36_500))
    """A ticket opened within this many days after the person's previous ticket's last touchpoint is a repeat contact."""

    pain_points_min_n: int = setting(5, integer(1))
    """Slow transitions seen fewer times than this are listed but not ranked."""

    path_variant_max_steps: int = setting(25, integer(1))
    """Paths longer than this many collapsed steps are cut and end in ' > ...'."""

    ticket_first_response_target_s: int = setting(4 * 3600, integer(1, maximum=315_360_000))
    """Support SLA: first response target per ticket."""

    ticket_resolution_target_s: int = setting(48 * 3600, integer(1, maximum=315_360_000))
    """Support SLA: resolution target per ticket."""

    attribution_half_life_days: float = setting(7.0, number(at_least=0.001, at_most=36_500))
    """Half-life of the time-decay attribution model."""

    clv_discount_rate_annual: float = setting(0.10, number(at_least=0, at_most=10))
    """Annual discount rate for the 12-month predicted CLV."""

    clv_horizon_months: int = setting(12, integer(1, maximum=1200))
    """Horizon of the predicted CLV."""

    at_risk_probability_alive: float = setting(0.3, number(at_least=0, at_most=1))
    """Customers whose BG/NBD probability alive is below this are flagged at risk."""

    reporting_currency: str = setting("EUR", currency_code())
    """ISO 4217 currency every revenue, AOV and CLV figure of the marts is in: staging converts each
    touchpoint's revenue into it with currency_rates_file. It must be one of the file's currencies."""

    currency_rates_file: Path = setting(DEFAULT_RATES_FILE, rates_file())
    """YAML exchange-rate table (base, date, rates: units of base per unit of each currency). The
    default ships illustrative rates dated 2025-01-02: set your own."""

    duckdb_memory_limit: str = setting("4GB", memory_size())
    """DuckDB's memory cap for builds; it spills to disk beyond it."""

    duckdb_threads: int | None = setting(None, integer(1, optional=True))
    """Threads for DuckDB (None: all cores)."""

    # ---- quality gates (quality/thresholds.py hands them to the gates' SQL without the prefix) ----
    quality_unmapped_event_share_max: float = setting(0.05, number(at_least=0, at_most=1))
    """Largest share of journey touchpoints whose event type the stage model does not map (WARN above
    it): beyond it stage analytics (funnels, drop-off) describe too little of the data."""

    quality_volume_drop_ratio_min: float = setting(0.5, number(at_least=0, at_most=1))
    """A channel whose events on the latest complete day fall below this fraction of its trailing
    median has suddenly dropped (WARN): a source that stopped sending, a broken tag, a stuck connector."""

    quality_volume_trailing_days: int = setting(28, integer(1))
    """Days before the latest complete day whose median daily volume is the drop check's baseline."""

    quality_volume_min_median: float = setting(20.0, number(at_least=0))
    """Channels whose trailing median daily volume is below this are too small to judge a drop on."""

    quality_dead_letter_share_max: float = setting(0.02, number(at_least=0, at_most=1))
    """Largest share of its messages a load (of at least 100) may dead-letter before the source looks
    broken (WARN)."""

    quality_share_sum_tolerance: float = setting(1e-6, number(at_least=0))
    """How far from 1 the attribution shares of a model and dimension, and the transition
    probabilities out of a step, may sum (rounding) before it is an ERROR."""

    quality_sample_rows: int = setting(5, integer(1))
    """Failing rows a quality check shows in its metadata and in `journeys build` output."""

    def __post_init__(self) -> None:
        for name, value in validate(self).items():
            object.__setattr__(self, name, value)

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


RULES: dict[str, Rule] = {f.name: f.metadata["rule"] for f in fields(Settings)}
"""Every setting's rule, by name. By name, not from a subclass's own fields: a subclass that only
changes defaults (tests do) is checked by the same rules."""
assert all(RULES.values()), "every setting declares its rule"


def env_var(name: str) -> str:
    """The environment variable of a setting: JOURNEYS_<NAME>."""
    return ENV_PREFIX + name.upper()


def validate(settings: Settings) -> dict[str, Any]:
    """The normalised value of every setting; SettingsError (naming the setting) on the first bad one."""
    values = {}
    for name, rule in RULES.items():
        try:
            values[name] = rule.check(getattr(settings, name))
        except _Invalid as error:
            raise SettingsError(str(error), setting=name) from None
    at_risk, churn = values["at_risk_inactive_days"], values["churn_inactive_days"]
    if at_risk >= churn:
        raise SettingsError(f"must be less than churn_inactive_days ({churn}), got {at_risk}", "at_risk_inactive_days",
                            blame={"at_risk_inactive_days": f"must be less than churn_inactive_days ({churn}), got {at_risk}",
                                   "churn_inactive_days": f"must be more than at_risk_inactive_days ({at_risk}), got {churn}"})
    _check_stage_model(values["stage_model"], values["stage_models_file"])
    _check_reporting_currency(values["reporting_currency"], values["currency_rates_file"])
    return values


def _check_reporting_currency(code: str, rates_path: Path) -> None:
    """Revenue can only be converted into a currency the rate table prices (the file itself was
    checked by its rule)."""
    from journeys.transforms.currency import read_rates

    listed = read_rates(rates_path).rates
    if code not in listed:
        known = ", ".join(sorted(listed))
        reason = f"{code} has no rate in currency_rates_file {rates_path} (it lists {known})"
        raise SettingsError(reason, "reporting_currency",
                            blame={"reporting_currency": reason,
                                   "currency_rates_file": f"{rates_path} has no rate for reporting_currency {code} "
                                                          f"(it lists {known})"})


# ---- stage models: the name must be one the build can find ---------------------------------------

@functools.cache
def _stage_model_error_type() -> type[SettingsError]:
    """An unknown stage model is a settings error, and also the StageModelError that
    transforms.stage_models raises, so code catching that keeps working. Built on first use:
    transforms.stage_models imports this module."""
    from journeys.transforms.stage_models import StageModelError

    return type("StageModelSettingsError", (SettingsError, StageModelError), {"__module__": __name__})


@functools.cache
def _builtin_model_names() -> tuple[str, ...]:
    from journeys.transforms.stage_models import builtin_models

    return tuple(builtin_models())


@functools.cache
def _user_model_names(path_: Path, mtime_ns: int, size: int) -> tuple[str, ...]:
    """Cached per file version: tests and Dagster steps make many Settings."""
    from journeys.transforms.stage_models import user_models

    return tuple(user_models(path_))


def _check_stage_model(name: str, models_file: Path | None) -> None:
    from journeys.transforms.stage_models import StageModelError

    error = _stage_model_error_type()
    known = list(_builtin_model_names())
    if models_file is not None:
        if not models_file.is_file():
            raise error(f"stage models file {models_file} does not exist", "stage_models_file")
        stat = models_file.stat()
        try:
            known += _user_model_names(models_file.resolve(), stat.st_mtime_ns, stat.st_size)
        except StageModelError as problem:
            raise error(" ".join(str(problem).split()), "stage_models_file") from None
    if name not in known:
        where = f"not built in nor in {models_file}" if models_file else "not built in; set stage_models_file to add your own"
        reason = f"unknown stage model {name!r} ({where}); known: {', '.join(sorted(known))}"
        raise error(reason, "stage_model")


# ---- loading -----------------------------------------------------------------------------------

def parse_as_of(value: str | dt.datetime | dt.date | None) -> dt.datetime | None:
    """`2024-06-30` means the end of that day; a full timestamp is taken as UTC (aware ones converted)."""
    try:
        return RULES["as_of"].check(value)
    except _Invalid as error:  # also parses --since/--as-of arguments: the message names no setting
        raise SettingsError(str(error)) from None


def _config_file(env: Mapping[str, str]) -> Path | None:
    candidates = [env.get(CONFIG_ENV)]
    if env.get("JOURNEYS_HOME"):
        candidates.append(str(Path(env["JOURNEYS_HOME"]) / "journeys.yaml"))
    candidates.append("journeys.yaml")
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    if env.get(CONFIG_ENV):
        raise SettingsError(f"{env[CONFIG_ENV]} does not exist", source=f"environment variable {CONFIG_ENV}")
    return None


def _read_config(config: Path) -> tuple[dict, str]:
    """The file's settings and the label its errors start with: `journeys.yaml (/abs/journeys.yaml)`."""
    label = f"{config.name} ({config.resolve()})"
    try:
        raw = yaml.safe_load(config.read_text())
    except yaml.YAMLError as error:
        raise SettingsError(f"not valid YAML: {' '.join(str(error).split())}", source=label) from None
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise SettingsError(f"expected a mapping of setting: value, got {type(raw).__name__}", source=label)
    unknown = [str(k) for k in raw if k not in RULES]
    if unknown:
        close = difflib.get_close_matches(unknown[0], RULES, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise SettingsError(f"unknown setting(s) {', '.join(map(repr, unknown))}{hint}; known: {', '.join(RULES)}",
                            source=label)
    return raw, label


def load_settings(env: Mapping[str, str] | None = None, **overrides) -> Settings:
    """Defaults < config file < environment (JOURNEYS_<FIELD>) < explicit overrides (None = not given)."""
    env = dict(os.environ if env is None else env)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    """Where each given value came from, as the prefix of its error message."""
    config = _config_file(env)
    if config is not None:
        raw, label = _read_config(config)
        values.update(raw)
        sources.update({name: f"{label}: {name}" for name in raw})
    for name, rule in RULES.items():
        text = env.get(env_var(name))
        if text is None or not text.strip():
            continue
        sources[name] = f"environment variable {env_var(name)}"
        try:
            values[name] = rule.text(text)
        except _Invalid as error:
            raise SettingsError(str(error), name, sources[name]) from None
    for name, value in overrides.items():
        if name not in RULES:
            raise SettingsError(f"unknown setting {name!r}; known: {', '.join(RULES)}")
        if value is not None:
            values[name], sources[name] = value, name
    try:
        return Settings(**values)
    except SettingsError as error:
        for name, reason in error.blame.items():
            if name in sources:
                raise type(error)(reason, name, sources[name]) from None
        raise
