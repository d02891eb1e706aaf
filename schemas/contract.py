"""The touchpoint contract beyond what Avro can say: allowed values, ranges, topics, privacy."""

from __future__ import annotations

import hashlib
import os
import re

CHANNELS = ("web", "email", "call_center", "store", "mobile_app", "social", "chat", "sms")
IDENTIFIERS = ("customer_id", "anonymous_id", "email_hash", "phone_hash", "loyalty_id")
SCORE_RANGES = {"nps_score": (0, 10), "csat_score": (1, 5), "ces_score": (1, 7)}

TOPIC_PREFIX = "touchpoints."
DEAD_LETTER_TOPIC = "touchpoints.dead_letters"
"""Producers send rows they cannot encode (e.g. an unparseable timestamp) here; ingest files them
in raw.dead_letters like any consumer-side rejection."""

DEFAULT_PARTITIONS = 6

PII_SALT_ENV = "JOURNEYS_PII_SALT"
_DEV_SALT = "journeys-development-salt"


def topic_for(channel: str) -> str:
    return f"{TOPIC_PREFIX}{channel}"


def is_touchpoint_topic(topic: str) -> bool:
    return topic.startswith(TOPIC_PREFIX) and topic != DEAD_LETTER_TOPIC


def pii_salt() -> str:
    """The salt for e-mail and phone hashes. Set JOURNEYS_PII_SALT in production; the built-in
    development salt keeps demos reproducible but must not be used for real people's data."""
    return os.environ.get(PII_SALT_ENV) or _DEV_SALT


def normalize_email(raw: str) -> str:
    return raw.strip().lower()


def normalize_phone(raw: str) -> str:
    """Digits only, keeping a leading + so +44... and 0044... stay distinguishable from locals."""
    text = raw.strip()
    digits = re.sub(r"\D", "", text)
    return ("+" + digits) if text.startswith("+") else digits


def hash_pii(value: str, salt: str | None = None) -> str:
    """Salted SHA-256, hex. The same function (sha256(salt || value)) runs in DuckDB for bulk loads."""
    return hashlib.sha256(((salt if salt is not None else pii_salt()) + value).encode()).hexdigest()


def hash_email(raw: str | None, salt: str | None = None) -> str | None:
    return None if raw is None or not str(raw).strip() else hash_pii(normalize_email(str(raw)), salt)


def hash_phone(raw: str | None, salt: str | None = None) -> str | None:
    return None if raw is None or not str(raw).strip() else hash_pii(normalize_phone(str(raw)), salt)


def partition_key(record: dict) -> str:
    """The customer key: the most durable identifier present, so one person's events share a partition."""
    for name in ("customer_id", "loyalty_id", "email_hash", "phone_hash", "anonymous_id"):
        if record.get(name):
            return str(record[name])
    return str(record.get("event_id", ""))
