"""Settings are validated once, when they are made: one rule per setting, one line per mistake,
naming the setting and where its value came from (the YAML file or the environment variable)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from journeys.cli import main
from journeys.settings import RULES, Settings, SettingsError, env_var, load_settings
from journeys.transforms.stage_models import BUILTIN_DIR, StageModelError


@pytest.fixture
def config(tmp_path, env_clean, monkeypatch):
    """Writes journeys.yaml in a clean directory with no JOURNEYS_* variables; returns its path."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "journeys.yaml"

    def write(text: str) -> Path:
        path.write_text(text)
        return path

    return write


def refused(env: dict | None = None, **overrides) -> str:
    """The one-line message load_settings refuses with."""
    with pytest.raises(SettingsError) as error:
        load_settings(env={} if env is None else env, **overrides)
    message = str(error.value)
    assert "\n" not in message
    return message


# ---- the file and the environment are named -----------------------------------------------------

def test_zero_journey_gap_in_the_file_names_the_file_and_the_setting(config):
    """journey_gap_days: 0 would cut a journey at every touchpoint: refused, naming the file by path."""
    path = config("journey_gap_days: 0\n")
    assert refused() == f"journeys.yaml ({path.resolve()}): journey_gap_days: must be an integer >= 1, got 0"


@pytest.mark.parametrize("value, shown", [("ninety", "'ninety'"), ("7.5", "7.5"), ("true", "True"), ("-3", "-3")])
def test_an_integer_setting_refuses_anything_but_an_integer(config, value, shown):
    """A word, a fraction, a boolean or a negative number is not a number of days."""
    config(f"journey_gap_days: {value}\n")
    assert refused().endswith(f"journey_gap_days: must be an integer >= 1, got {shown}")


def test_integers_from_yaml_and_from_the_environment_arrive_as_integers(config):
    """YAML 60 and the environment's text "45" are both integers."""
    config("journey_gap_days: 60\n")
    settings = load_settings(env={"JOURNEYS_CHURN_INACTIVE_DAYS": "45", "JOURNEYS_AT_RISK_INACTIVE_DAYS": "20"})
    assert (settings.journey_gap_days, settings.churn_inactive_days, settings.at_risk_inactive_days) == (60, 45, 20)


def test_a_bad_environment_variable_is_named(config):
    """The environment overrides the file, and its mistakes name the variable."""
    config("journey_gap_days: 60\n")
    assert refused({"JOURNEYS_JOURNEY_GAP_DAYS": "abc"}) == \
        "environment variable JOURNEYS_JOURNEY_GAP_DAYS: must be an integer >= 1, got 'abc'"


def test_an_empty_environment_variable_is_unset(config):
    """JOURNEYS_JOURNEY_GAP_DAYS= (empty) leaves the file's value."""
    config("journey_gap_days: 60\n")
    assert load_settings(env={"JOURNEYS_JOURNEY_GAP_DAYS": " "}).journey_gap_days == 60


def test_as_of_that_is_not_a_date_is_refused(config):
    """JOURNEYS_AS_OF=yesterday is not a date."""
    assert refused({"JOURNEYS_AS_OF": "yesterday"}) == \
        "environment variable JOURNEYS_AS_OF: not a date or ISO timestamp: 'yesterday'"


def test_as_of_a_date_is_the_end_of_that_day_and_a_timestamp_is_utc(config):
    """2025-03-31 means 23:59:59.999999 that day; +02:00 is converted to UTC."""
    assert load_settings(env={"JOURNEYS_AS_OF": "2025-03-31"}).as_of == dt.datetime(2025, 3, 31, 23, 59, 59, 999999)
    assert load_settings(env={"JOURNEYS_AS_OF": "2025-03-31T12:00:00+02:00"}).as_of == dt.datetime(2025, 3, 31, 10)


def test_earliest_event_at_a_date_is_the_start_of_that_day(config):
    """A lower bound given as a date starts at midnight (not at the end of the day, as as_of does)."""
    config("earliest_event_at: 2000-01-01\n")
    assert load_settings(env={}).earliest_event_at == dt.datetime(2000, 1, 1)
    config("earliest_event_at: the beginning\n")
    assert refused().endswith("earliest_event_at: not a date or ISO timestamp: 'the beginning'")


def test_an_unknown_key_in_the_file_is_refused_with_the_known_ones(config):
    """A typo is not silently ignored: the error suggests the close name and lists every setting."""
    config("journey_gap_dayz: 30\n")
    message = refused()
    assert "unknown setting(s) 'journey_gap_dayz' (did you mean journey_gap_days?)" in message
    assert all(name in message.split("known: ")[1] for name in RULES)


def test_a_file_that_is_not_yaml_is_one_line(config):
    """Broken YAML is reported on one line with the file's path."""
    path = config("journey_gap_days: [30\n")
    message = refused()
    assert message.startswith(f"journeys.yaml ({path.resolve()}): not valid YAML:")


def test_a_missing_config_file_is_named(config, tmp_path):
    """JOURNEYS_CONFIG pointing nowhere is an error, not a silent fallback to the defaults."""
    assert refused({"JOURNEYS_CONFIG": str(tmp_path / "nope.yaml")}) == \
        f"environment variable JOURNEYS_CONFIG: {tmp_path / 'nope.yaml'} does not exist"


# ---- ranges and kinds, one rule each ------------------------------------------------------------

RULE_CASES = [
    # (setting, bad value as YAML, what the message says)
    ("churn_inactive_days", "0", "must be an integer >= 1, got 0"),
    ("ingest_chunk_messages", "0", "must be an integer >= 1, got 0"),
    ("ingest_decode_workers", "-1", "must be an integer >= 0, got -1"),
    ("ingest_batch_max_wait_s", "0", "must be a number > 0, got 0"),
    ("ingest_verify_interval_s", "-5", "must be a number > 0, got -5"),
    ("engine", "postgres", "must be one of duckdb, spark, got 'postgres'"),
    ("spark_master", "local[0]", "must be a Spark master URL"),
    ("spark_driver_memory", "4GB", "must be a JVM memory size like 512m or 4g, got '4GB'"),
    ("serving_storage_version", "v1", "must be a DuckDB storage version like v1.1.0, or latest, got 'v1'"),
    ("ingest_session_timeout_s", "0.5", "must be a number between 1 and 1800, got"),
    ("publish_interval_s", "never", "must be a number > 0, got 'never'"),
    ("build_lock_timeout_s", "-1", "must be a number >= 0, got -1"),
    ("attribution_half_life_days", "0", "must be a number between 0.001 and 36500, got 0"),
    ("clv_discount_rate_annual", "-0.1", "must be a number between 0 and 10, got -0.1"),
    # maxima: values that passed before and then overflowed every build or every ingest chunk
    ("max_event_future_s", "10000000000000", "must be an integer <= 3,153,600,000, got 10000000000000"),
    ("journey_gap_days", "1000000000", "must be an integer <= 36,500, got 1000000000"),
    ("churn_inactive_days", "1000000000", "must be an integer <= 36,500, got 1000000000"),
    ("repeat_contact_window_days", "1000000000000", "must be an integer <= 36,500, got 1000000000000"),
    ("clv_horizon_months", "100000000", "must be an integer <= 1,200, got 100000000"),
    ("at_risk_probability_alive", "1.5", "must be a number between 0 and 1, got 1.5"),
    ("at_risk_probability_alive", ".nan", "must be a number between 0 and 1, got nan"),
    ("clv_time_unit", "month", "must be one of day, week, got 'month'"),
    ("duckdb_memory_limit", "4", "must be a size like '4GB'"),
    ("duckdb_memory_limit", "4 bananas", "must be a size like '4GB'"),
    ("duckdb_threads", "0", "must be an integer >= 1 or null, got 0"),
    ("ticket_first_response_target_s", "0", "must be an integer >= 1, got 0"),
    ("identifier_person_limits", "{email_hash: 0}", "email_hash: must be an integer >= 1, got 0"),
    ("identifier_person_limits", "{e_mail: 1}", "unknown identifier type 'e_mail'; known: customer_id, anonymous_id"),
    ("passive_event_types", "email_sent", "must be a list of names, got 'email_sent'"),
    ("clv_event_types", "[]", "must list at least 1 name, got []"),
    ("stage_model", "Five Stage", "must be the snake_case name of a stage model"),
    ("reporting_currency", "EURO", "must be a 3-letter ISO 4217 currency code like 'EUR', got 'EURO'"),
    ("reporting_currency", "E1R", "must be a 3-letter ISO 4217 currency code like 'EUR', got 'E1R'"),
    ("reporting_currency", "XYZ", "XYZ has no rate in currency_rates_file"),
    ("currency_rates_file", "/no/such/rates.yaml", "rates file /no/such/rates.yaml does not exist"),
]


@pytest.mark.parametrize("name, value, reason", RULE_CASES, ids=[f"{c[0]}={c[1]}" for c in RULE_CASES])
def test_each_rule_refuses_its_bad_value(config, name, value, reason):
    """The message names the file, the setting and what the rule wants."""
    path = config(f"{name}: {value}\n")
    assert refused().startswith(f"journeys.yaml ({path.resolve()}): {name}: {reason}")


def test_at_risk_must_come_before_churn_and_the_setting_the_user_gave_is_blamed(config):
    """at_risk 45 (default) with churn 30 from the environment: the variable is named, and why."""
    assert refused({"JOURNEYS_CHURN_INACTIVE_DAYS": "30"}) == \
        "environment variable JOURNEYS_CHURN_INACTIVE_DAYS: must be more than at_risk_inactive_days (45), got 30"
    config("at_risk_inactive_days: 90\n")
    assert refused().endswith("at_risk_inactive_days: must be less than churn_inactive_days (90), got 90")


def test_values_at_the_edge_of_their_range_are_accepted(config):
    """0 decode workers, probability 0 and 1, discount rate 0, memory as a share of RAM."""
    config("ingest_decode_workers: 0\nat_risk_probability_alive: 1\nclv_discount_rate_annual: 0\n"
           "duckdb_memory_limit: 80%\nbuild_lock_timeout_s: 0\nidentifier_person_limits: {customer_id: 3}\n")
    settings = load_settings(env={})
    assert (settings.ingest_decode_workers, settings.at_risk_probability_alive, settings.clv_discount_rate_annual,
            settings.duckdb_memory_limit, settings.build_lock_timeout_s) == (0, 1.0, 0.0, "80%", 0.0)
    assert settings.identifier_person_limits == {"customer_id": 3}


# ---- stage models --------------------------------------------------------------------------------

def test_an_unknown_stage_model_lists_the_known_ones(config):
    """Every built-in model (one YAML file each) is offered; the error is also a StageModelError."""
    builtin = sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml"))
    message = refused({"JOURNEYS_STAGE_MODEL": "nine_stage"})
    assert message.startswith("environment variable JOURNEYS_STAGE_MODEL: unknown stage model 'nine_stage'")
    assert message.endswith(f"known: {', '.join(builtin)}")
    with pytest.raises(StageModelError):
        Settings(stage_model="nine_stage")


def test_a_model_of_the_stage_models_file_is_known(config, tmp_path):
    """stage_model may name a model of stage_models_file; a name in neither lists both kinds."""
    models = tmp_path / "models.yaml"
    models.write_text("name: shop\nstages: [{stage: browse, main: [page_view]}]\n")
    config(f"stage_models_file: {models}\nstage_model: shop\n")
    assert load_settings(env={}).stage_model == "shop"
    message = refused({"JOURNEYS_STAGE_MODEL": "shopping"})
    assert f"not built in nor in {models}" in message and "five_stage" in message and "shop" in message


def test_a_broken_stage_models_file_is_a_settings_error(config, tmp_path):
    """A file that does not exist, or holds a broken model, is refused when the settings load."""
    config(f"stage_models_file: {tmp_path / 'missing.yaml'}\n")
    assert refused().endswith(f"stage_models_file: stage models file {tmp_path / 'missing.yaml'} does not exist")
    (tmp_path / "bad.yaml").write_text("name: m\nstages: []\n")
    config(f"stage_models_file: {tmp_path / 'bad.yaml'}\n")
    assert "'stages' must be a non-empty list" in refused()


# ---- money: the reporting currency and its rate table ---------------------------------------------

BAD_RATES = [
    # (rate file text, what the message says)
    ("base: EUR\ndate: 2025-01-02\nrates: {USD: 0}\n", "rate of USD must be a finite number > 0, got 0"),
    ("base: EUR\ndate: 2025-01-02\nrates: {USD: -0.9}\n", "rate of USD must be a finite number > 0, got -0.9"),
    ("base: EUR\ndate: 2025-01-02\nrates: {USD: .inf}\n", "rate of USD must be a finite number > 0, got inf"),
    ("base: EUR\ndate: 2025-01-02\nrates: {USD: .nan}\n", "rate of USD must be a finite number > 0, got nan"),
    ("base: EUR\ndate: 2025-01-02\nrates: {USD: ninety}\n", "rate of USD must be a finite number > 0, got 'ninety'"),
    ("base: EUR\ndate: 2025-01-02\nrates: {usd: 0.9}\n",
     "a currency must be a 3-letter upper-case ISO 4217 code like EUR, got 'usd'"),
    ("base: EUR\ndate: 2025-01-02\nrates: {EUR: 2, USD: 0.9}\n", "the base EUR must have rate 1, got 2.0"),
    ("base: EUR\nrates: {USD: 0.9}\n", "missing date"),
    ("base: EUR\ndate: soon\nrates: {USD: 0.9}\n", "date must be a date like 2025-01-02, got 'soon'"),
    ("base: EUR\ndate: 2025-01-02\nrate: {USD: 0.9}\n", "unknown key(s) rate; known: base, date, rates"),
    ("base: EUR\ndate: 2025-01-02\nrates: [USD]\n", "rates must be a mapping of currency code to rate"),
    ("base: [EUR\n", "not valid YAML"),
]


@pytest.mark.parametrize("text, reason", BAD_RATES, ids=[r for _, r in BAD_RATES])
def test_a_broken_rates_file_is_refused_naming_the_file(config, tmp_path, text, reason):
    """Rates must parse and be positive and finite, codes three upper-case letters, the base at 1, dated."""
    rates = tmp_path / "rates.yaml"
    rates.write_text(text)
    path = config(f"currency_rates_file: {rates}\n")
    assert refused().startswith(f"journeys.yaml ({path.resolve()}): currency_rates_file: {rates}: {reason}")


def test_the_reporting_currency_must_be_one_the_rates_file_prices(config, tmp_path):
    """A rates file without the reporting currency cannot convert into it: the setting the user gave is blamed."""
    rates = tmp_path / "rates.yaml"
    rates.write_text("base: USD\ndate: 2025-01-02\nrates: {GBP: 1.25}\n")
    assert refused({"JOURNEYS_CURRENCY_RATES_FILE": str(rates)}) == (
        f"environment variable JOURNEYS_CURRENCY_RATES_FILE: {rates} has no rate for reporting_currency EUR "
        "(it lists GBP, USD)")
    assert load_settings(env={"JOURNEYS_CURRENCY_RATES_FILE": str(rates), "JOURNEYS_REPORTING_CURRENCY": "gbp"}
                         ).reporting_currency == "GBP"


def test_the_default_rates_are_the_shipped_illustrative_table():
    """EUR by default, converted with transforms/currency_rates.yaml, which prices the demo's EUR and USD."""
    from journeys.transforms.currency import DEFAULT_RATES_FILE, read_rates

    settings = Settings()
    assert (settings.reporting_currency, settings.currency_rates_file) == ("EUR", DEFAULT_RATES_FILE)
    table = read_rates(DEFAULT_RATES_FILE)
    assert table.base == "EUR" and {"EUR", "USD"} <= set(table.rates)
    assert "ILLUSTRATIVE" in DEFAULT_RATES_FILE.read_text()


# ---- made directly ---------------------------------------------------------------------------------

def test_direct_construction_validates_too():
    """Settings(...) and settings.replace run the same rules as load_settings."""
    with pytest.raises(SettingsError, match=r"^journey_gap_days: must be an integer >= 1, got 0$"):
        Settings(journey_gap_days=0)
    with pytest.raises(SettingsError, match=r"^churn_inactive_days: must be an integer >= 1, got 'x'$"):
        Settings().replace(churn_inactive_days="x")
    assert Settings(journey_gap_days="30", home="h").journey_gap_days == 30
    assert Settings(home="h").home == Path("h")


def test_an_unknown_override_is_refused():
    """load_settings(journey_gap=...) is a typo, not a new setting."""
    assert refused(journey_gap=3).startswith("unknown setting 'journey_gap'; known: home, as_of")


def test_settings_are_frozen_and_replace_is_a_validated_copy():
    """Assigning is refused; replace() gives a new Settings through the same rules, the original unchanged."""
    settings = Settings()
    with pytest.raises(ValidationError, match="frozen"):
        settings.journey_gap_days = 30
    assert settings.replace(journey_gap_days="30").journey_gap_days == 30
    assert settings.journey_gap_days == 90
    with pytest.raises(SettingsError, match=r"^at_risk_inactive_days: must be less than churn_inactive_days \(30\)"):
        settings.replace(churn_inactive_days=30)


def test_made_directly_settings_read_no_environment(config, monkeypatch):
    """Settings() is the defaults and what is passed; only load_settings reads JOURNEYS_* and the file."""
    monkeypatch.setenv("JOURNEYS_JOURNEY_GAP_DAYS", "30")
    config("churn_inactive_days: 100\n")
    assert (Settings().journey_gap_days, Settings().churn_inactive_days) == (90, 90)
    assert (load_settings().journey_gap_days, load_settings().churn_inactive_days) == (30, 100)


def test_every_setting_declares_a_type_a_rule_a_default_and_a_docstring():
    """The docstring under each field is its description; each default passes its own rule unchanged."""
    defaults = Settings()
    for name, field in Settings.model_fields.items():
        assert field.description and field.annotation is not None, name
        assert RULES[name].check(field.get_default()) == getattr(defaults, name), name


def test_a_subclass_cannot_drop_a_rule():
    """Redeclaring a field with a bare type would lose its rule: refused when the class is made."""
    with pytest.raises(TypeError, match="redeclares journey_gap_days without its rule"):
        class Looser(Settings):
            journey_gap_days: int = 0


# ---- Kafka and secrets ------------------------------------------------------------------------------

def test_kafka_settings_keep_their_kafka_variables(config):
    """KAFKA_* (not JOURNEYS_KAFKA_*) reach every client's configuration, normalised."""
    from journeys.pipelines.kafka_config import client_config

    settings = load_settings(env={"KAFKA_BOOTSTRAP_SERVERS": "b1:9093, b2:9093", "KAFKA_SECURITY_PROTOCOL": "sasl_ssl",
                                  "KAFKA_SASL_MECHANISM": "scram-sha-512", "KAFKA_SASL_USERNAME": "ingest",
                                  "KAFKA_SASL_PASSWORD": "hunter2", "KAFKA_SSL_CAFILE": "/etc/kafka/ca.pem",
                                  "JOURNEYS_KAFKA_CLIENT_ID": "not-read"})
    assert env_var("kafka_client_id") == "KAFKA_CLIENT_ID"
    assert client_config(settings) == {
        "bootstrap_servers": ["b1:9093", "b2:9093"], "client_id": "journeys", "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512", "sasl_plain_username": "ingest", "sasl_plain_password": "hunter2",
        "ssl_cafile": "/etc/kafka/ca.pem"}


def test_unset_bootstrap_servers_mean_the_embedded_broker(config):
    """No KAFKA_BOOTSTRAP_SERVERS: None in the settings, the embedded broker's 127.0.0.1:9092 for clients."""
    from journeys.pipelines.kafka_config import client_config

    settings = load_settings(env={"KAFKA_BOOTSTRAP_SERVERS": " "})
    assert settings.kafka_bootstrap_servers is None
    assert client_config(settings) == {"bootstrap_servers": ["127.0.0.1:9092"], "client_id": "journeys",
                                       "security_protocol": "PLAINTEXT"}


def test_kafka_settings_may_come_from_the_file(config):
    """kafka_bootstrap_servers in journeys.yaml; the environment's KAFKA_BOOTSTRAP_SERVERS overrides it."""
    config("kafka_bootstrap_servers: broker:9092\nkafka_client_id: journeys-prod\n")
    assert (load_settings(env={}).kafka_bootstrap_servers, load_settings(env={}).kafka_client_id) == (
        "broker:9092", "journeys-prod")
    assert load_settings(env={"KAFKA_BOOTSTRAP_SERVERS": "other:9092"}).kafka_bootstrap_servers == "other:9092"


@pytest.mark.parametrize("variable, value, reason", [
    ("KAFKA_SECURITY_PROTOCOL", "TLS", "must be one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL, got 'TLS'"),
    ("KAFKA_BOOTSTRAP_SERVERS", "broker:port", "must be host:port[,host:port] or null, got 'broker:port'"),
    ("KAFKA_BOOTSTRAP_SERVERS", "b1:9092,,b2:9092", "must be host:port[,host:port] or null, got 'b1:9092,,b2:9092'"),
    ("KAFKA_SASL_MECHANISM", "MD5", "must be one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER, GSSAPI, "
                                    "AWS_MSK_IAM or null, got 'MD5'"),
])
def test_a_bad_kafka_setting_names_its_variable(config, variable, value, reason):
    """A protocol, address or mechanism Kafka clients do not know stops the command, naming the variable."""
    assert refused({variable: value}) == f"environment variable {variable}: {reason}"


def test_secrets_are_never_shown(config):
    """The SASL password and the PII salt print as ********** and stay out of the models' parameters."""
    import duckdb

    from journeys.transforms.params import model_params

    settings = load_settings(env={"KAFKA_SASL_PASSWORD": "hunter2", "JOURNEYS_PII_SALT": "pepper-and-salt"})
    assert (settings.kafka_sasl_password.get_secret_value(), settings.pii_salt.get_secret_value()) == (
        "hunter2", "pepper-and-salt")
    params = model_params(duckdb.connect(), settings)
    for shown in (repr(settings), str(settings), settings.model_dump_json(), str(settings.model_dump()), str(params)):
        assert "hunter2" not in shown and "pepper-and-salt" not in shown
    assert not [name for name in params if name.startswith("kafka_") or name == "pii_salt"]


def test_a_secret_in_the_file_is_refused_without_showing_it(config):
    """Secrets are environment only: a password in journeys.yaml is an error that does not repeat it."""
    path = config("kafka_sasl_password: hunter2\n")
    assert refused() == (f"journeys.yaml ({path.resolve()}): kafka_sasl_password is a secret: set it in the "
                         "environment as KAFKA_SASL_PASSWORD, never in a file")


# ---- every field from the environment ---------------------------------------------------------------

def _non_default(name: str, default, tmp_path: Path) -> tuple[str, object]:
    """A valid value other than the default, as environment text and as the setting it becomes."""
    special = {
        "home": (str(tmp_path / "elsewhere"), tmp_path / "elsewhere"),
        "as_of": ("2025-02-03T04:05:06", dt.datetime(2025, 2, 3, 4, 5, 6)),
        "earliest_event_at": ("2001-02-03", dt.datetime(2001, 2, 3)),
        "stage_model": ("kotler_5a", "kotler_5a"),
        "stage_models_file": (str(tmp_path / "models.yaml"), tmp_path / "models.yaml"),
        "clv_time_unit": ("day", "day"),
        "duckdb_memory_limit": ("3GB", "3GB"),
        "duckdb_threads": ("3", 3),
        "identifier_person_limits": ("email_hash=3,phone_hash=4", {"email_hash": 3, "phone_hash": 4}),
        "at_risk_inactive_days": ("44", 44),
        "at_risk_probability_alive": ("0.45", 0.45),
        "reporting_currency": ("usd", "USD"),
        "currency_rates_file": (str(tmp_path / "rates.yaml"), tmp_path / "rates.yaml"),
        "custom_models_dir": (str(tmp_path / "custom"), tmp_path / "custom"),
        "pii_salt": ("a production salt", SecretStr("a production salt")),
        "kafka_bootstrap_servers": ("broker-1:9093, broker-2:9093", "broker-1:9093,broker-2:9093"),
        "kafka_security_protocol": ("sasl_ssl", "SASL_SSL"),
        "kafka_sasl_mechanism": ("SCRAM-SHA-512", "SCRAM-SHA-512"),
        "kafka_sasl_username": ("ingest", "ingest"),
        "kafka_sasl_password": ("hunter2", SecretStr("hunter2")),
        "kafka_ssl_cafile": (str(tmp_path / "ca.pem"), tmp_path / "ca.pem"),
        "kafka_ssl_certfile": (str(tmp_path / "client.pem"), tmp_path / "client.pem"),
        "kafka_ssl_keyfile": (str(tmp_path / "client.key"), tmp_path / "client.key"),
        "kafka_client_id": ("journeys-test", "journeys-test"),
        "engine": ("Spark", "spark"),
        "spark_master": (" sc://spark-connect.internal:15002 ", "sc://spark-connect.internal:15002"),
        "lake": (str(tmp_path / "lake"), tmp_path / "lake"),
        "spark_driver_memory": ("6G", "6g"),
        "serving_storage_version": ("v1.4.0", "v1.4.0"),
    }
    if name in special:
        return special[name]
    if isinstance(default, bool):
        raise AssertionError(f"add an environment test value for {name}")
    if isinstance(default, int):
        return str(default + 1), default + 1
    if isinstance(default, float):
        return str(default + 0.5), default + 0.5
    if isinstance(default, tuple):
        return "alpha, beta", ("alpha", "beta")
    raise AssertionError(f"add an environment test value for {name}")


def test_every_setting_is_settable_from_the_environment(config, tmp_path):
    """JOURNEYS_<FIELD_NAME_UPPER> for every field: a valid non-default value arrives, normalised."""
    (tmp_path / "models.yaml").write_text("name: shop\nstages: [{stage: browse, main: [page_view]}]\n")
    (tmp_path / "rates.yaml").write_text("base: USD\ndate: 2025-01-02\nrates: {EUR: 1.04}\n")
    defaults = Settings()
    env, expected = {}, {}
    for name in Settings.model_fields:
        text, value = _non_default(name, getattr(defaults, name), tmp_path)
        assert value != getattr(defaults, name), name
        env[env_var(name)], expected[name] = text, value
    settings = load_settings(env=env)
    assert {name: getattr(settings, name) for name in expected} == expected


def test_lists_and_mappings_from_the_environment_may_be_written_as_yaml(config):
    """[a, b] and {k: 1} work as well as a,b and k=1."""
    settings = load_settings(env={"JOURNEYS_CLV_EVENT_TYPES": "[purchase, subscription_start]",
                                  "JOURNEYS_IDENTIFIER_PERSON_LIMITS": "{anonymous_id: 2}"})
    assert settings.clv_event_types == ("purchase", "subscription_start")
    assert settings.identifier_person_limits == {"anonymous_id": 2}


# ---- the command line ------------------------------------------------------------------------------

def test_a_command_with_a_bad_setting_prints_one_line_and_exits_1(config, capsys, monkeypatch, tmp_path):
    """`journeys build` refuses before building: exit 1 and exactly one line on stderr."""
    monkeypatch.setenv("JOURNEYS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("JOURNEYS_JOURNEY_GAP_DAYS", "0")
    assert main(["build"]) == 1
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        "journeys build: error: environment variable JOURNEYS_JOURNEY_GAP_DAYS: must be an integer >= 1, got 0"]
    assert not (tmp_path / "home" / "warehouse.duckdb").exists()


def test_every_command_refuses_a_bad_config_file(config, capsys):
    """Even a command that reads no setting (simulate to a file) refuses a broken journeys.yaml."""
    path = config("journey_gap_days: ninety\n")
    assert main(["simulate", "--out", "x.parquet", "--customers", "1", "--days", "1"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"journeys simulate: error: journeys.yaml ({path.resolve()}): journey_gap_days: "
        "must be an integer >= 1, got 'ninety'"]
    assert not Path("x.parquet").exists()


def test_verbose_shows_the_traceback(config, monkeypatch):
    """-v lets the SettingsError through (with its traceback) instead of the one line."""
    monkeypatch.setenv("JOURNEYS_AS_OF", "yesterday")
    with pytest.raises(SettingsError, match="JOURNEYS_AS_OF"):
        main(["-v", "build"])


def test_the_readme_documents_every_setting():
    """The README's Settings table has a row per field, so a new setting cannot go undocumented."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    assert [name for name in RULES if f"| `{name}` |" not in section] == []
