"""Kafka client settings: the embedded broker by default, any cluster by setting.

They are the `kafka_*` fields of journeys/settings.py (type, rule, default and docstring there),
set, like every setting, in the environment or journeys.yaml; their environment variables keep
the names every Kafka tool uses:

| variable | setting | meaning |
|---|---|---|
| KAFKA_BOOTSTRAP_SERVERS | kafka_bootstrap_servers | `host:port[,host:port]`; unset means the embedded broker on 127.0.0.1:9092 |
| KAFKA_SECURITY_PROTOCOL | kafka_security_protocol | PLAINTEXT (default), SSL, SASL_PLAINTEXT or SASL_SSL |
| KAFKA_SASL_MECHANISM | kafka_sasl_mechanism | PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER, GSSAPI or AWS_MSK_IAM |
| KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD | kafka_sasl_username / _password | SASL credentials (password: environment only) |
| KAFKA_SSL_CAFILE / KAFKA_SSL_CERTFILE / KAFKA_SSL_KEYFILE | kafka_ssl_cafile / ... | TLS files (PEM) |
| KAFKA_CLIENT_ID | kafka_client_id | client id shown in broker logs (default `journeys`) |

Nothing here knows which broker it talks to: tansu, Apache Kafka, Redpanda and MSK get the
same plain Kafka protocol.
"""

from __future__ import annotations

from journeys.settings import Settings, load_settings

EMBEDDED_DEFAULT_PORT = 9092


def bootstrap_servers(settings: Settings | None = None) -> str:
    """The configured cluster, else the embedded broker's default address."""
    settings = load_settings() if settings is None else settings
    return settings.kafka_bootstrap_servers or f"127.0.0.1:{EMBEDDED_DEFAULT_PORT}"


def client_config(settings: Settings | None = None) -> dict:
    """Keyword arguments shared by every kafka-python client we create. Without settings, they are
    loaded now: `kafka_available()` points KAFKA_BOOTSTRAP_SERVERS at a broker it has just started."""
    settings = load_settings() if settings is None else settings
    password = settings.kafka_sasl_password
    optional = {
        "sasl_mechanism": settings.kafka_sasl_mechanism,
        "sasl_plain_username": settings.kafka_sasl_username,
        "sasl_plain_password": None if password is None else password.get_secret_value(),
        "ssl_cafile": settings.kafka_ssl_cafile,
        "ssl_certfile": settings.kafka_ssl_certfile,
        "ssl_keyfile": settings.kafka_ssl_keyfile,
    }
    return {
        "bootstrap_servers": bootstrap_servers(settings).split(","),
        "client_id": settings.kafka_client_id,
        "security_protocol": settings.kafka_security_protocol,
        **{key: str(value) for key, value in optional.items() if value is not None},
    }
