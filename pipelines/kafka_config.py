"""Kafka client settings from the environment: the embedded broker by default, any cluster by setting.

| variable | meaning |
|---|---|
| KAFKA_BOOTSTRAP_SERVERS | `host:port[,host:port]`; unset means the embedded broker on 127.0.0.1:9092 |
| KAFKA_SECURITY_PROTOCOL | PLAINTEXT (default), SSL, SASL_PLAINTEXT or SASL_SSL |
| KAFKA_SASL_MECHANISM | PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER |
| KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD | SASL credentials |
| KAFKA_SSL_CAFILE / KAFKA_SSL_CERTFILE / KAFKA_SSL_KEYFILE | TLS files (PEM) |
| KAFKA_CLIENT_ID | client id shown in broker logs (default `journeys`) |

Nothing here knows which broker it talks to: tansu, Apache Kafka, Redpanda and MSK get the
same plain Kafka protocol.
"""

from __future__ import annotations

import os

EMBEDDED_DEFAULT_PORT = 9092

_OPTIONAL = {
    "KAFKA_SASL_MECHANISM": "sasl_mechanism",
    "KAFKA_SASL_USERNAME": "sasl_plain_username",
    "KAFKA_SASL_PASSWORD": "sasl_plain_password",
    "KAFKA_SSL_CAFILE": "ssl_cafile",
    "KAFKA_SSL_CERTFILE": "ssl_certfile",
    "KAFKA_SSL_KEYFILE": "ssl_keyfile",
}


def bootstrap_servers(env: dict[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return env.get("KAFKA_BOOTSTRAP_SERVERS") or f"127.0.0.1:{EMBEDDED_DEFAULT_PORT}"


def client_config(env: dict[str, str] | None = None) -> dict:
    """Keyword arguments shared by every kafka-python client we create."""
    env = os.environ if env is None else env
    config = {
        "bootstrap_servers": bootstrap_servers(env).split(","),
        "client_id": env.get("KAFKA_CLIENT_ID", "journeys"),
        "security_protocol": env.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT"),
    }
    config.update({key: env[var] for var, key in _OPTIONAL.items() if env.get(var)})
    return config
