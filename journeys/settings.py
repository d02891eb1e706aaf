"""Settings in one place: where the warehouse lives, how journeys and churn are defined, how to reach Kafka.

Values come, in increasing priority, from the defaults below, a YAML config file, environment
variables and explicit overrides (`load_settings(home=...)`, the Dagster resource). The config
file is `$JOURNEYS_CONFIG`, else `journeys.yaml` in `JOURNEYS_HOME`, else `journeys.yaml` in the
working directory; it may set any field by its name. Every field is also settable from the
environment as `JOURNEYS_<FIELD_NAME_UPPER>` (an empty variable is unset), except the Kafka
client's, which keep the names every Kafka tool uses: `kafka_bootstrap_servers` is
`KAFKA_BOOTSTRAP_SERVERS` (unset: the embedded broker). Lists are written `a,b` or `[a, b]`,
mappings `k=1,k2=2` or `{k: 1, k2: 2}`. Secrets (`kafka_sasl_password`, `pii_salt`) are
`SecretStr`: read only from the environment, never from the file, and shown as `**********` by
repr, str and JSON.

Why pydantic-settings: one typed declaration per setting (type, default, rule, and the docstring
below it, which becomes the field's description) instead of a hand-written loader; the environment
and YAML sources are the library's (`EnvSettingsSource`, `YamlConfigSettingsSource`), and
validation collects its errors per field. `Settings(...)` is the defaults and what is passed, no
more: tests and code get no environment or file unasked; `load_settings` adds the sources.

Each field declares its rule beside its type (`Annotated[int, integer(1)]`). The rule checks type
and range and normalises the value (`"90"` from the environment becomes 90) whenever a Settings
is made, directly, by `load_settings` or by `replace`, so a bad value stops a command before it
does anything. It raises SettingsError: one line naming the setting and where its value came from.
Settings are frozen; `settings.replace(journey_gap_days=30)` is a validated copy (pydantic's
`model_copy(update=...)` would skip the rules).
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
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import SecretStr, ValidationError, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError, core_schema
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict, YamlConfigSettingsSource

from journeys.schemas.contract import _DEV_SALT, IDENTIFIERS
from journeys.transforms.currency import DEFAULT_RATES_FILE

DEFAULT_PLACEHOLDERS = ("", "0", "-1", "null", "none", "nan", "undefined", "anonymous", "guest", "unknown", "n/a")
ENV_PREFIX = "JOURNEYS_"
KAFKA_PREFIX = "kafka_"
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
class _Unreadable:
    """Environment text a rule could not even parse (a mapping without `=`): refused, with this
    reason, when the field is validated, so the error names the variable like any other."""

    reason: str


@dataclass(frozen=True)
class Rule:
    """A field's rule, as `Annotated` metadata: pydantic runs `check` before its own validation of
    the declared type (which the normalised value then always has)."""

    check: Callable[[Any], Any]
    """Returns the normalised value, or raises _Invalid with the reason."""
    text: Callable[[str], Any] = str
    """Turns an environment variable's text into what `check` takes (lists and mappings are parsed)."""
    secret: bool = False
    """Environment only: the config file may not set it (SecretStr values)."""

    def __get_pydantic_core_schema__(self, source: Any, handler: Callable[[Any], core_schema.CoreSchema]):
        return core_schema.no_info_before_validator_function(self._validate, handler(source))

    def _validate(self, value: Any) -> Any:
        try:
            if isinstance(value, _Unreadable):
                raise _Invalid(value.reason)
            return self.check(value)
        except _Invalid as error:
            raise PydanticCustomError("setting", "{reason}", {"reason": str(error)}) from None

    def read_env(self, text: str) -> Any:
        try:
            return self.text(text)
        except _Invalid as error:
            return _Unreadable(str(error))


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


def choice(*options: str, optional: bool = False) -> Rule:
    """One of `options`, in any case; the option as spelled here ('Week' is week, 'sasl_ssl' SASL_SSL)."""
    spelled = {option.lower(): option for option in options}

    def check(value):
        if optional and value is None:
            return None
        if not isinstance(value, str) or value.strip().lower() not in spelled:
            raise _Invalid(f"must be one of {', '.join(options)}{' or null' if optional else ''}, got {value!r}")
        return spelled[value.strip().lower()]

    return Rule(check)


def plain_text(optional: bool = False) -> Rule:
    """Non-empty text, trimmed."""
    def check(value):
        if optional and value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise _Invalid(f"must be non-empty text{' or null' if optional else ''}, got {value!r}")
        return value.strip()

    return Rule(check)


def secret(optional: bool = False) -> Rule:
    """Text kept as a SecretStr, exactly as given (a salt's spaces are part of it). Its value is
    never part of an error message."""
    def check(value):
        if optional and value is None:
            return None
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if not isinstance(value, str) or not value:
            got = "empty text" if value == "" else type(value).__name__
            raise _Invalid(f"must be non-empty text{' or null' if optional else ''}, got {got}")
        return SecretStr(value)

    return Rule(check, secret=True)


_SERVER = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[^\s:,\[\]]+)(?::(\d{1,5}))?")


def servers(optional: bool = False) -> Rule:
    """Kafka bootstrap servers, `host:port[,host:port]` (a host alone is port 9092 to kafka-python)."""
    def check(value):
        if optional and value is None:
            return None
        items = [item.strip() for item in value.split(",")] if isinstance(value, str) else []
        matches = [_SERVER.fullmatch(item) for item in items]
        if not items or not all(m and (m[1] is None or 0 < int(m[1]) < 65536) for m in matches):
            raise _Invalid(f"must be host:port[,host:port]{' or null' if optional else ''}, got {value!r}")
        return ",".join(items)

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


_SPARK_MASTER = re.compile(r"local(?:\[(?:\*|[1-9]\d*)(?:,\s*[1-9]\d*)?\])?|yarn|(?:spark|k8s|sc|mesos)://\S+")


def spark_master_url() -> Rule:
    """A Spark master URL as spark-submit takes it: local, local[N], local[*], yarn, spark://…,
    k8s://…, or a Spark Connect server sc://…."""
    def check(value):
        if not isinstance(value, str) or not _SPARK_MASTER.fullmatch(value.strip()):
            raise _Invalid("must be a Spark master URL (local[*], local[N], spark://host:7077, yarn, k8s://…, "
                           f"or sc://host:15002 for Spark Connect), got {value!r}")
        return value.strip()

    return Rule(check)


def storage_version() -> Rule:
    """A DuckDB storage version as ATTACH takes it (v1.1.0), or latest."""
    def check(value):
        text = value.strip() if isinstance(value, str) else ""
        if text != "latest" and not re.fullmatch(r"v\d+\.\d+\.\d+", text):
            raise _Invalid(f"must be a DuckDB storage version like v1.1.0, or latest, got {value!r}")
        return text

    return Rule(check)


def jvm_memory() -> Rule:
    """A JVM memory size as Spark takes it: 512m, 4g, 1t."""
    def check(value):
        text = value.strip().lower() if isinstance(value, str) else ""
        if not re.fullmatch(r"[1-9]\d*[kmgt]", text):
            raise _Invalid(f"must be a JVM memory size like 512m or 4g, got {value!r}")
        return text

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


# ---- the settings ------------------------------------------------------------------------------

class Settings(BaseSettings):
    """Every setting, its type, rule and default; the docstring under each is its description."""

    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        validate_default=True,  # the defaults pass their rules too (the shipped rates file must parse)
        use_attribute_docstrings=True,
        case_sensitive=True,
    )

    home: Annotated[Path, path()] = Path("journeys_home")
    """Folder of the warehouse, its published copy and Dagster's instance."""

    as_of: Annotated[dt.datetime | None, timestamp(optional=True, end_of_day=True)] = None
    """Analysis date (UTC). None means the latest `occurred_at` in raw. A date alone means the end of that day."""

    stage_model: Annotated[str, model_name()] = "five_stage"
    """Name of a built-in stage model (transforms/stage_models/*.yaml), or of one defined in `stage_models_file`."""

    stage_models_file: Annotated[Path | None, path(optional=True)] = None
    """YAML file with extra stage models (see transforms/stage_models/five_stage.yaml)."""

    custom_models_dir: Annotated[Path | None, path(optional=True)] = None
    """Folder of your own dbt models (`name.sql`, optional `name.yml`): built into the schema `custom`
    after ours, checked and published with them; they may `ref()` any of our models by name."""

    journey_gap_days: Annotated[int, integer(1, maximum=36_500)] = 90
    """A gap longer than this between two touchpoints of a person starts a new journey."""

    journey_complex_min_returns: Annotated[int, integer(1)] = 1
    """A journey with at least this many returns to an earlier stage (before converting) is complex."""

    journey_complex_min_channels: Annotated[int, integer(1)] = 3
    """A journey on at least this many distinct channels is complex."""

    journey_cyclical_min_restarts: Annotated[int, integer(1)] = 1
    """A journey that starts over at a lower stage after a conversion this many times is cyclical."""

    journey_branching_min_detours: Annotated[int, integer(1)] = 1
    """A journey with at least this many detours (detour steps or revisits) is branching."""

    churn_inactive_days: Annotated[int, integer(1, maximum=36_500)] = 90
    """A customer inactive longer than this at the as-of date counts as churned."""

    at_risk_inactive_days: Annotated[int, integer(1, maximum=36_500)] = 45
    """Inactive longer than this (but not churned) is `at_risk` in the lifecycle; less than churn_inactive_days."""

    identifier_placeholders: Annotated[tuple[str, ...], names(lower=True, allow_empty_name=True)] = \
        DEFAULT_PLACEHOLDERS
    """Identifier values (compared lower-cased, trimmed) that never link anything; all-zero values too."""

    identifier_person_limits: Annotated[dict[str, int], person_limits()] = {
        "anonymous_id": 1, "email_hash": 1, "phone_hash": 2, "loyalty_id": 1}
    """Most distinct customer_ids one identifier value may be seen with before it stops merging; an
    identifier type not listed has no limit."""

    max_event_future_s: Annotated[int, integer(0, maximum=3_153_600_000)] = 86_400
    """Events whose occurred_at is further than this past the ingestion clock are dead-lettered."""

    earliest_event_at: Annotated[dt.datetime, timestamp()] = dt.datetime(1990, 1, 1)
    """Events (occurred_at or received_at) before this UTC time are dead-lettered: year-1 or epoch-zero
    timestamps are broken clocks, not history. A date alone means the start of that day."""

    ingest_chunk_messages: Annotated[int, integer(1)] = 10_000
    """Messages per chunk: the unit of decoding and of one DuckDB transaction (rows + offsets)."""

    ingest_batch_max_wait_s: Annotated[float, number(above=0)] = 1.0
    """Longest time the ingester buffers messages before writing them (the latency bound)."""

    ingest_decode_workers: Annotated[int, integer(0)] = 2
    """Processes that decode Avro in parallel with consuming; 0 decodes in the consuming process."""

    pii_email_field_patterns: Annotated[tuple[str, ...], regexes()] = (
        r"(?:user|contact|customer|client|primary|secondary|work|personal|private|billing|shipping|account|login"
        r"|sender|recipient|reply|notification)?e?mail(?:address|addr)?",)
    """Regular expressions fully matched against a field or property name, lower-cased with everything
    but a-z and 0-9 removed (`E-Mail Address` is `emailaddress`): a match is an e-mail field, dropped
    and hashed into email_hash (schemas/pii.py)."""

    pii_phone_field_patterns: Annotated[tuple[str, ...], regexes()] = (
        r"(?:user|contact|customer|client|primary|secondary|work|home|personal|private|billing|shipping|account"
        r"|mobile|cell)?(?:phone|telephone|tel|mobile|cell|cellphone|msisdn|whatsapp)(?:number|num|no|nr)?",)
    """The same, for phone fields, hashed into phone_hash."""

    pii_phone_field_min_digits: Annotated[int, integer(1)] = 7
    """A phone field's value is hashed only with at least this many digits (else it is dropped unhashed:
    'n/a' in a phone column must not link everyone who wrote it)."""

    pii_salt: Annotated[SecretStr, secret()] = SecretStr(_DEV_SALT)
    """Salt of the e-mail and phone hashes (environment only: JOURNEYS_PII_SALT). Set it in production:
    the built-in development salt keeps demos reproducible but must not be used for real people's data.
    (schemas/contract.py's pii_salt() reads the same variable.)"""

    file_max_line_bytes: Annotated[int, integer(1024)] = 1 << 20
    """A CSV or JSON-lines line longer than this is dead-lettered unread (journeys load / produce --file)."""

    engine: Annotated[str, choice("duckdb", "spark")] = "duckdb"
    """Where the raw layer lives and the heavy transformations run: `duckdb` (one machine: raw in the
    warehouse file) or `spark` (raw in the lake, `lake`, which `journeys ingest` and `journeys load`
    write and several ingesters in one consumer group share)."""

    spark_master: Annotated[str, spark_master_url()] = "local[*]"
    """Spark's master when engine is spark: local[*] (this machine's cores), local[N], spark://host:7077,
    yarn, k8s://…, or sc://host:15002 for a Spark Connect server (Databricks and others)."""

    spark_driver_memory: Annotated[str, jvm_memory()] = "4g"
    """Heap of the Spark driver's JVM (spark.driver.memory), set when this process starts it: in local
    mode the driver is also the executor. A cluster's executors take their own settings."""

    serving_storage_version: Annotated[str, storage_version()] = "v1.1.0"
    """DuckDB storage format of the published file: v1.1.0 opens in DuckDB 1.1 and later, which BI tools
    embed (Evidence's connector bundles 1.4, Metabase's driver its own, older CLIs); `latest` is the
    working file's own format, which only DuckDB 2 opens. A publish that copies the file whole writes
    that format (COPY FROM DATABASE into a file attached with it: slower than a file copy); in place it
    keeps the standby's."""

    lake: Annotated[Path | None, path(optional=True)] = None
    """Folder of the raw lake (Hive-partitioned Parquet, pipelines/lake.py) when engine is spark; None
    means `lake` under home. A POSIX file system (local disk, NFS, a mounted HDFS): each commit is
    an exclusive hard link, which object stores do not offer."""

    lake_orphan_age_s: Annotated[float, number(above=0)] = 3600.0
    """Uncommitted files (an ingester killed mid-chunk) are deleted from the lake's _incoming folder
    once older than this; younger ones may still belong to a live ingester that is about to commit."""

    ingest_session_timeout_s: Annotated[float, number(at_least=1, at_most=1800)] = 45.0
    """Consumer-group session timeout (engine spark, where ingesters share the partitions): an
    ingester silent this long is dropped from the group and its partitions move to the others."""

    ingest_verify_interval_s: Annotated[float, number(above=0)] = 10.0
    """In follow mode, how often the ingester checks that the broker still holds the log it has read
    (a restarted broker or re-created topic is detected and recorded in raw.ingest_gaps)."""

    publish_interval_s: Annotated[float, number(above=0)] = 300.0
    """In follow mode, how often the ingester publishes a fresh read-only copy."""

    build_lock_timeout_s: Annotated[float, number(at_least=0)] = 600.0
    """How long `journeys build` waits for another build to finish before refusing (0: refuse at once)."""

    lag_sensor_threshold: Annotated[int, integer(0)] = 10_000
    """Consumer lag (messages) above which the Dagster sensor starts an ingest run."""

    new_customer_days: Annotated[int, integer(1, maximum=36_500)] = 30
    """A customer acquired (first conversion) less than this many days before as_of is `new`; one back
    from churn less than this many days ago is `resurrected`."""

    dormant_after_churn_days: Annotated[int, integer(1, maximum=36_500)] = 90
    """A churned customer whose churn began more than this many days before as_of is `dormant` (lost
    long ago) rather than `churned` (a recent loss: the win-back list)."""

    passive_event_types: Annotated[tuple[str, ...], names()] = (
        "ad_impression", "email_sent", "renewal_notice", "delivery")
    """Event types sent to a customer rather than done by them; they do not count as activity for churn."""

    clv_time_unit: Annotated[str, choice("day", "week")] = "week"
    """Time unit of the BG/NBD fit ('day' or 'week'); its rates are per this unit."""

    clv_event_types: Annotated[tuple[str, ...], names(min_items=1)] = ("purchase",)
    """Conversions the CLV models are fitted on: non-contractual repeat buying. Other conversions
    (subscription_start, subscription_renewed) are contractual and count in historical value only."""

    clv_min_repeat_customers: Annotated[int, integer(1)] = 30
    """With fewer repeat buyers, predicted CLV falls back to historical value."""

    retention_min_subscribers: Annotated[int, integer(1)] = 30
    """With fewer subscriptions, a plan's sBG retention model is not fitted (marts.retention_model_params says so)."""

    subscription_lapse_grace_share: Annotated[float, number(at_least=0, at_most=10)] = 0.5
    """A subscription with no payment for more than (1 + this) renewal periods since its last one, and
    no cancellation, has lapsed: a silent churner, lost like a cancelled one."""

    survey_attribution_window_days: Annotated[int, integer(1, maximum=36_500)] = 7
    """A survey response with no ticket or order rates the person's latest touchpoint within this many days before it."""

    repeat_contact_window_days: Annotated[int, integer(1, maximum=36_500)] = 7
    """A ticket opened within this many days after the person's previous ticket's last touchpoint is a repeat contact."""

    pain_points_min_n: Annotated[int, integer(1)] = 5
    """Slow transitions seen fewer times than this are listed but not ranked."""

    path_variant_max_steps: Annotated[int, integer(1)] = 25
    """Paths longer than this many collapsed steps are cut and end in ' > ...'."""

    ticket_first_response_target_s: Annotated[int, integer(1, maximum=315_360_000)] = 4 * 3600
    """Support SLA: first response target per ticket."""

    ticket_resolution_target_s: Annotated[int, integer(1, maximum=315_360_000)] = 48 * 3600
    """Support SLA: resolution target per ticket."""

    attribution_half_life_days: Annotated[float, number(at_least=0.001, at_most=36_500)] = 7.0
    """Half-life of the time-decay attribution model."""

    clv_discount_rate_annual: Annotated[float, number(at_least=0, at_most=10)] = 0.10
    """Annual discount rate for the 12-month predicted CLV."""

    clv_horizon_months: Annotated[int, integer(1, maximum=1200)] = 12
    """Horizon of the predicted CLV."""

    at_risk_probability_alive: Annotated[float, number(at_least=0, at_most=1)] = 0.3
    """Customers whose BG/NBD probability alive is below this are flagged at risk."""

    reporting_currency: Annotated[str, currency_code()] = "EUR"
    """ISO 4217 currency every revenue, AOV and CLV figure of the marts is in: staging converts each
    touchpoint's revenue into it with currency_rates_file. It must be one of the file's currencies."""

    currency_rates_file: Annotated[Path, rates_file()] = DEFAULT_RATES_FILE
    """YAML exchange-rate table (base, date, rates: units of base per unit of each currency). The
    default ships illustrative rates dated 2025-01-02: set your own."""

    duckdb_memory_limit: Annotated[str, memory_size()] = "2GB"
    """DuckDB's memory cap; builds spill to disk beyond it. A build's peak memory is this plus the Python
    steps' bounded batches (about 1.3 GB at the default journey_walk_batch_rows), so 2 GB keeps a whole
    build under 4 GB at any history size (measured at 10M events: 3.3 GB). 4 GB built 10M events about
    12% faster, at a 4.6 GB peak."""

    duckdb_threads: Annotated[int | None, integer(1, optional=True)] = None
    """Threads for DuckDB (None: all cores)."""

    journey_walk_batch_rows: Annotated[int, integer(1000)] = 1_000_000
    """Touchpoints the journey walk (Python) holds at a time: it reads them sorted by person and
    walks whole persons in batches of about this many rows, so its memory does not grow with the
    history. A person with more touchpoints than this is walked in one (larger) batch."""

    # ---- quality gates (quality/thresholds.py hands them to the gates' SQL without the prefix) ----
    quality_unmapped_event_share_max: Annotated[float, number(at_least=0, at_most=1)] = 0.05
    """Largest share of journey touchpoints whose event type the stage model does not map (WARN above
    it): beyond it stage analytics (funnels, drop-off) describe too little of the data."""

    quality_volume_drop_ratio_min: Annotated[float, number(at_least=0, at_most=1)] = 0.5
    """A channel whose events on the latest complete day fall below this fraction of its trailing
    median has suddenly dropped (WARN): a source that stopped sending, a broken tag, a stuck connector."""

    quality_volume_trailing_days: Annotated[int, integer(1)] = 28
    """Days before the latest complete day whose median daily volume is the drop check's baseline."""

    quality_volume_min_median: Annotated[float, number(at_least=0)] = 20.0
    """Channels whose trailing median daily volume is below this are too small to judge a drop on."""

    quality_dead_letter_share_max: Annotated[float, number(at_least=0, at_most=1)] = 0.02
    """Largest share of its messages a load (of at least 100) may dead-letter before the source looks
    broken (WARN)."""

    quality_share_sum_tolerance: Annotated[float, number(at_least=0)] = 1e-6
    """How far from 1 the attribution shares of a model and dimension, and the transition
    probabilities out of a step, may sum (rounding) before it is an ERROR."""

    quality_sample_rows: Annotated[int, integer(1)] = 5
    """Failing rows a quality check shows in its metadata and in `journeys build` output."""

    # ---- the Kafka client (pipelines/kafka_config.py); environment names KAFKA_*, not JOURNEYS_* ----
    kafka_bootstrap_servers: Annotated[str | None, servers(optional=True)] = None
    """`host:port[,host:port]` of the cluster (KAFKA_BOOTSTRAP_SERVERS). None: the embedded broker on
    127.0.0.1:9092, which `journeys demo` starts and `journeys broker` runs."""

    kafka_security_protocol: Annotated[str, choice("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")] = "PLAINTEXT"
    """How clients connect: in the clear, over TLS, with SASL, or with SASL over TLS."""

    kafka_sasl_mechanism: Annotated[str | None, choice("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER",
                                                        "GSSAPI", "AWS_MSK_IAM", optional=True)] = None
    """SASL mechanism (kafka-python's); None for PLAINTEXT and SSL."""

    kafka_sasl_username: Annotated[str | None, plain_text(optional=True)] = None
    """SASL user name."""

    kafka_sasl_password: Annotated[SecretStr | None, secret(optional=True)] = None
    """SASL password (environment only: KAFKA_SASL_PASSWORD)."""

    kafka_ssl_cafile: Annotated[Path | None, path(optional=True)] = None
    """PEM file of the certificate authorities the client trusts (SSL, SASL_SSL)."""

    kafka_ssl_certfile: Annotated[Path | None, path(optional=True)] = None
    """PEM file of the client's certificate, for brokers that authenticate clients by TLS."""

    kafka_ssl_keyfile: Annotated[Path | None, path(optional=True)] = None
    """PEM file of the client certificate's private key."""

    kafka_client_id: Annotated[str, plain_text()] = "journeys"
    """Client id shown in the broker's logs and metrics."""

    def __init__(self, **values: Any) -> None:
        """The defaults and `values`, validated; SettingsError (naming the setting) on the first bad one."""
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise _refusal(error) from None

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, **_sources):
        """What is passed, nothing else: load_settings reads the file and the environment itself, so
        that it knows which of them a bad value came from."""
        return (init_settings,)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """A subclass (tests add settings of their own) may not drop a rule by redeclaring a field."""
        super().__pydantic_init_subclass__(**kwargs)
        bare = [name for name in Settings.model_fields if _rule(cls.model_fields[name]) is None]
        if bare:
            raise TypeError(f"{cls.__name__} redeclares {', '.join(bare)} without its rule; "
                            "pass the value instead (Settings(name=value))")

    @model_validator(mode="after")
    def validate_together(self) -> Settings:
        """Rules on two settings, once each one is valid on its own."""
        try:
            _check_together(self)
        except SettingsError as error:
            raise PydanticCustomError("settings", "{reason}", {"reason": str(error), "error": error}) from None
        return self

    def replace(self, **changes: Any) -> Settings:
        """A copy with `changes`, validated like a new Settings (rules, and the rules on two settings)."""
        return type(self)(**{**dict(self), **changes})

    # ---- derived paths -------------------------------------------------------
    @property
    def warehouse_path(self) -> Path:
        """The working DuckDB file: only the single writer opens it."""
        return self.home / "warehouse.duckdb"

    @property
    def lake_path(self) -> Path:
        """The raw lake's folder (engine spark)."""
        return self.lake if self.lake is not None else self.home / "lake"

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


def _rule(field: FieldInfo) -> Rule | None:
    return next((item for item in field.metadata if isinstance(item, Rule)), None)


RULES: dict[str, Rule] = {name: _rule(field) for name, field in Settings.model_fields.items()}
"""Every setting's rule, by name."""
assert all(RULES.values()), "every setting declares its rule"

SECRETS = tuple(name for name, rule in RULES.items() if rule.secret)
"""Settings read only from the environment, kept as SecretStr."""

KAFKA_SETTINGS = tuple(name for name in RULES if name.startswith(KAFKA_PREFIX))
"""The Kafka client's settings: the pipelines' business, no SQL model's."""


def env_var(name: str) -> str:
    """The environment variable of a setting: KAFKA_<NAME> for the Kafka client's (kafka_client_id is
    KAFKA_CLIENT_ID, as in every Kafka tool), JOURNEYS_<NAME> for the others."""
    return name.upper() if name.startswith(KAFKA_PREFIX) else ENV_PREFIX + name.upper()


def _refusal(error: ValidationError) -> SettingsError:
    """The first problem pydantic found, as our one-line SettingsError naming the setting (an
    unknown name first: it may be a typo of the setting that looks wrong)."""
    problems = error.errors(include_url=False)
    unknown = [str(p["loc"][0]) for p in problems if p["type"] == "extra_forbidden"]
    if unknown:
        return SettingsError(f"unknown setting {unknown[0]!r}; known: {', '.join(RULES)}")
    first = problems[0]
    if "error" in first.get("ctx", {}):
        return first["ctx"]["error"]
    return SettingsError(first["msg"], setting=str(first["loc"][0]) if first["loc"] else None)


def _check_together(settings: Settings) -> None:
    at_risk, churn = settings.at_risk_inactive_days, settings.churn_inactive_days
    if at_risk >= churn:
        raise SettingsError(f"must be less than churn_inactive_days ({churn}), got {at_risk}", "at_risk_inactive_days",
                            blame={"at_risk_inactive_days": f"must be less than churn_inactive_days ({churn}), got {at_risk}",
                                   "churn_inactive_days": f"must be more than at_risk_inactive_days ({at_risk}), got {churn}"})
    _check_stage_model(settings.stage_model, settings.stage_models_file)
    _check_reporting_currency(settings.reporting_currency, settings.currency_rates_file)


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


class _Environment(EnvSettingsSource):
    """The library's environment source over a given mapping (tests pass one), with our names
    (env_var) and text forms: a blank variable is unset, and each field's rule reads its text
    (`a,b` lists, `k=1` mappings) instead of the library's JSON."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]):
        self._given = env
        super().__init__(settings_cls, case_sensitive=True)

    def _load_env_vars(self) -> Mapping[str, str]:
        return {name: value for name, value in self._given.items() if value is not None and value.strip()}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.env_vars.get(env_var(field_name)), field_name, False

    def prepare_field_value(self, field_name: str, field: FieldInfo, value: Any, value_is_complex: bool) -> Any:
        return None if value is None else RULES[field_name].read_env(value)


class _ConfigFile(YamlConfigSettingsSource):
    """The library's YAML source, refusing what it would pass on silently or with a traceback:
    broken YAML, a file that is no mapping, unknown keys (typos), secrets (environment only)."""

    def __init__(self, settings_cls: type[BaseSettings], config: Path):
        self.label = f"{config.name} ({config.resolve()})"
        """The prefix of the file's errors: `journeys.yaml (/abs/journeys.yaml)`."""
        super().__init__(settings_cls, yaml_file=config)
        unknown = [str(k) for k in self.yaml_data if k not in RULES]
        if unknown:
            close = difflib.get_close_matches(unknown[0], RULES, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise SettingsError(f"unknown setting(s) {', '.join(map(repr, unknown))}{hint}; known: {', '.join(RULES)}",
                                source=self.label)
        for name in SECRETS:
            if name in self.yaml_data:
                raise SettingsError(f"{name} is a secret: set it in the environment as {env_var(name)}, "
                                    "never in a file", source=self.label)

    def _read_file(self, file_path: Path) -> dict[str, Any]:
        try:
            raw = yaml.safe_load(file_path.read_text(encoding="utf-8"))
        except yaml.YAMLError as error:
            raise SettingsError(f"not valid YAML: {' '.join(str(error).split())}", source=self.label) from None
        raw = {} if raw is None else raw
        if not isinstance(raw, dict):
            raise SettingsError(f"expected a mapping of setting: value, got {type(raw).__name__}", source=self.label)
        return raw


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


def load_settings(env: Mapping[str, str] | None = None, **overrides) -> Settings:
    """Defaults < config file < environment (JOURNEYS_<FIELD>, KAFKA_<...>) < explicit overrides
    (None = not given)."""
    env = dict(os.environ if env is None else env)
    for name in overrides:
        if name not in RULES:
            raise SettingsError(f"unknown setting {name!r}; known: {', '.join(RULES)}")
    layers: list[tuple[dict[str, Any], Callable[[str], str]]] = []
    """Each source's values, lowest priority first, and how its errors name a setting."""
    config = _config_file(env)
    if config is not None:
        file = _ConfigFile(Settings, config)
        layers.append((file(), lambda name: f"{file.label}: {name}"))
    layers.append((_Environment(Settings, env)(), lambda name: f"environment variable {env_var(name)}"))
    layers.append(({k: v for k, v in overrides.items() if v is not None}, lambda name: name))
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for given, where in layers:
        values.update(given)
        sources.update({name: where(name) for name in given})
    try:
        return Settings(**values)
    except SettingsError as error:
        for name, reason in error.blame.items():
            if name in sources:
                raise type(error)(reason, name, sources[name]) from None
        raise
