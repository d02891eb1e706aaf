"""Personal data at the door: the one rule for e-mail addresses and phone numbers.

Everything that enters the system passes here first — producers (`TouchpointProducer.send`,
`dead_letter`), records decoded from Kafka (third-party producers may not scrub) and file
loads (`journeys load` / `journeys produce --file`, which build their SQL from the patterns
below). Nothing downstream ever sees a raw address or number. The rule has three parts:

1. **Fields named like PII.** A column, record key or property key whose name, lower-cased
   with everything but a-z and 0-9 removed ("E-Mail Address" -> "emailaddress"), fully matches
   one of the settings `pii_email_field_patterns` / `pii_phone_field_patterns` is always dropped. Its value
   fills `email_hash` / `phone_hash` when that is empty: for an e-mail field, the first address
   found in it (`EMAIL_RE`), lower-cased; for a phone field, its digits with a leading `+` kept,
   when it has at least `pii_phone_field_min_digits`; salted SHA-256 as in `contract.hash_email` /
   `hash_phone`. A value with no address (`mail: "yes"`) or too few digits is dropped unhashed:
   hashing it would make one identifier shared by every such row. The first PII field in
   column (or key) order wins; the record's own non-empty hash column always wins.
2. **Free text.** In `FREE_TEXT_COLUMNS` and every property value, e-mail addresses become
   `[email redacted]` and phone numbers `[phone redacted]` (`redact_text`).
3. **Identifiers.** A value of an `ID_COLUMNS` column that contains an e-mail address is
   replaced by `hash_email(value)`, so linking on it still works; when the whole value is one
   address (`customer_id = "ann@example.com"`) it equals that address's e-mail hash, which also
   fills an empty `email_hash`. A `phone_hash` that is not a 64-hex digest but has enough digits
   is a raw number: it is hashed. Identifier columns are *not* phone-redacted: order numbers,
   barcodes (EAN-13) and account ids are digit runs that look exactly like phone numbers.

The regexes are written in the common subset of Python `re` and RE2 (DuckDB's `regexp_replace`,
pyarrow's `replace_substring_regex`): no look-around, explicit ASCII classes instead of `\\s` and
`\\d` (which mean more in Python), and negated classes so non-ASCII characters are treated alike
by str, UTF-8 (RE2) and latin-1 bytes (`redact_bytes`). Phone redaction runs twice because its
boundary characters are consumed: two numbers separated by one comma are both redacted.

Known over-redaction, accepted: in free text, any 9–15 digit number in a phone shape is
redacted — epoch milliseconds, IPv4 addresses with nine or more digits, long decimals.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from journeys.schemas.contract import hash_email, hash_phone
from journeys.schemas.registry import load_schema


@dataclass(frozen=True)
class _FieldRules:
    """Which field names are e-mail or phone fields: the settings pii_email_field_patterns,
    pii_phone_field_patterns and pii_phone_field_min_digits (journeys/settings.py)."""

    email_patterns: tuple[str, ...]
    phone_patterns: tuple[str, ...]
    phone_min_digits: int

    @functools.cached_property
    def email_re(self) -> re.Pattern:
        return re.compile(f"(?:{_alternatives(self.email_patterns)}){NUMBERED}")

    @functools.cached_property
    def phone_re(self) -> re.Pattern:
        return re.compile(f"(?:{_alternatives(self.phone_patterns)}){NUMBERED}")


NUMBERED = "[0-9]*"
"""A field name may end in a number: `Phone 1`, `E-mail 2` (CRM and address-book exports)."""


def _alternatives(patterns: tuple[str, ...]) -> str:
    return "|".join(f"(?:{p})" for p in patterns)


@functools.lru_cache(maxsize=1)
def field_rules() -> _FieldRules:
    """Read once per process from the settings (journeys.yaml, JOURNEYS_PII_* variables); spawned
    decode workers read the same environment and file."""
    from journeys.settings import load_settings

    settings = load_settings()
    return _FieldRules(settings.pii_email_field_patterns, settings.pii_phone_field_patterns,
                       settings.pii_phone_field_min_digits)


_NOT_IN_ADDRESS = r"\x00-\x20\x7f@<>()\[\]{},;:\"'`|\\/=?&#!*^~$"
EMAIL_RE = rf"[^{_NOT_IN_ADDRESS}]+@[^{_NOT_IN_ADDRESS}.]+(?:\.[^{_NOT_IN_ADDRESS}.]+)+"
"""local@domain.tld: no spaces, controls, quotes, brackets or URL punctuation in either part, and
at least one dot in the domain. Unicode letters are allowed (internationalised addresses)."""

PHONE_RE = r"(^|[^0-9A-Za-z_+-])(\+?\(?[0-9](?:(?: ?[()] ?|[ .-])?[0-9]){8,14})([^0-9A-Za-z_:-]|$)"
"""A run of 9–15 digits, optionally starting with + or (, the digits optionally separated by one
space, dot or dash, or by a parenthesis with a space either side ("+44 (0) 20 7946 0958",
"(555) 123-4567"). Groups: 1 the boundary before, 2 the number, 3 the boundary after. Not part
of a longer word or number: not preceded by a letter, digit, _, + or - (so UUID tails and ids
like "sku123456789" stay) and not followed by a letter, digit, _, - or ':' (so "2025-01-01 10:00"
is a date, not a number)."""

EMAIL_REPLACEMENT = "[email redacted]"
PHONE_REPLACEMENT = "[phone redacted]"

FREE_TEXT_COLUMNS = ("channel", "event_type", "currency", "campaign", "source", "medium")
"""Contract columns redacted like property values."""
ID_COLUMNS = ("event_id", "customer_id", "anonymous_id", "loyalty_id", "session_id", "order_id", "ticket_id",
              "product_id", "email_hash", "phone_hash")
"""Contract columns where an embedded e-mail address makes the whole value its hash."""
LINKING_ID_COLUMNS = ("customer_id", "anonymous_id", "loyalty_id")
"""Identifiers whose value, when it is exactly an e-mail address, also fills an empty email_hash."""

_EMAIL = re.compile(EMAIL_RE)
_PHONE = re.compile(PHONE_RE)
_PHONE_SUB = rf"\1{PHONE_REPLACEMENT}\3"
_NAME_JUNK = re.compile(r"[^a-z0-9]")
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
_DIGIT = re.compile(r"[0-9]")


# ---- names ---------------------------------------------------------------------------------
def normalize_field_name(name: str) -> str:
    return _NAME_JUNK.sub("", name.lower())


@functools.lru_cache(maxsize=4096)
def pii_kind(name: str) -> str | None:
    """'email', 'phone' or None for a column / key name."""
    normalized = normalize_field_name(name)
    if field_rules().email_re.fullmatch(normalized):
        return "email"
    if field_rules().phone_re.fullmatch(normalized):
        return "phone"
    return None


# ---- values --------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1 << 16)  # free-text values repeat (campaigns, sources, property values)
def redact_text(text: str) -> str:
    """E-mail addresses and phone numbers in free text replaced by their placeholders."""
    if "@" in text:
        text = _EMAIL.sub(EMAIL_REPLACEMENT, text)
    if _PHONE.search(text):
        text = _PHONE.sub(_PHONE_SUB, _PHONE.sub(_PHONE_SUB, text))
    return text


def redact_bytes(payload: bytes) -> bytes:
    """`redact_text` over arbitrary bytes, read as latin-1 (one character per byte, so UTF-8
    text, JSON and Avro strings are all searched). Bytes without PII come back unchanged. Where
    something was redacted the length changes: an Avro payload is then no longer decodable, which
    is accepted for a dead letter (its reason says why it was rejected). The Kafka decoder
    re-encodes the records it scrubs instead, so their payloads stay decodable."""
    if payload is None:
        return payload
    text = bytes(payload).decode("latin-1")
    redacted = redact_text.__wrapped__(text)  # payloads are unique: not worth caching
    return payload if redacted == text else redacted.encode("latin-1")


def email_field_hash(value) -> str | None:
    """The hash an e-mail-named field contributes: its first address, lower-cased, or None."""
    found = _EMAIL.search(str(value)) if value is not None else None
    return hash_email(found.group(0)) if found else None


def phone_field_hash(value) -> str | None:
    """The hash a phone-named field contributes: hash_phone of it with enough digits, or None."""
    if value is None or len(_DIGIT.findall(str(value))) < field_rules().phone_min_digits:
        return None
    return hash_phone(str(value))


_FIELD_HASH = {"email": email_field_hash, "phone": phone_field_hash}


def _scrub_id(name: str, value: str) -> str:
    if "@" in value and _EMAIL.search(value):
        return hash_email(value)
    if name == "phone_hash" and not _HEX_DIGEST.fullmatch(value) and phone_field_hash(value):
        return hash_phone(value)
    return value


def scrub_record(record: dict, contract_fields: frozenset[str] | None = None) -> dict:
    """The rule applied to one record (a dict of contract fields, maybe more, with `properties`).
    Returns the record itself when there was nothing to change, else a changed copy.

    `contract_fields`: keys that are contract columns (never PII-named); other top-level keys are
    checked by name like property keys."""
    contract_fields = contract_fields if contract_fields is not None else _CONTRACT_FIELDS
    out = None
    found = {"email": None, "phone": None}

    def copy() -> dict:
        nonlocal out
        if out is None:
            out = dict(record)
        return out

    for key in [k for k in record if k not in contract_fields and isinstance(k, str) and pii_kind(k)]:
        kind = pii_kind(key)
        found[kind] = found[kind] or _FIELD_HASH[kind](record[key])
        del copy()[key]
    for key in [k for k in (out if out is not None else record) if k not in contract_fields and isinstance(k, str)
                and redact_text(k) != k]:
        value = copy().pop(key)
        out[_unique(redact_text(key), out)] = value
    properties = record.get("properties")
    if isinstance(properties, dict) and properties:
        new_props = None
        for key, value in properties.items():
            kind = pii_kind(key) if isinstance(key, str) else None
            if kind:
                found[kind] = found[kind] or _FIELD_HASH[kind](value)
                new_props = new_props if new_props is not None else dict(properties)
                del new_props[key]
                continue
            new_key = redact_text(key) if isinstance(key, str) else key  # a key can hold an address too
            new_value = redact_text(value) if isinstance(value, str) else value
            if (new_key, new_value) != (key, value):
                new_props = new_props if new_props is not None else dict(properties)
                del new_props[key]
                new_props[_unique(new_key, new_props)] = new_value
        if new_props is not None:
            copy()["properties"] = new_props
    for name in FREE_TEXT_COLUMNS:
        value = record.get(name)
        if isinstance(value, str) and value:
            redacted = redact_text(value)
            if redacted != value:
                copy()[name] = redacted
    id_email = None
    for name in ID_COLUMNS:
        value = record.get(name)
        if isinstance(value, str) and value:
            scrubbed = _scrub_id(name, value)
            if scrubbed != value:
                copy()[name] = scrubbed
                if name in LINKING_ID_COLUMNS and id_email is None and _EMAIL.fullmatch(value.strip()):
                    id_email = scrubbed
    found["email"] = found["email"] or id_email
    for kind, column in (("email", "email_hash"), ("phone", "phone_hash")):
        if found[kind] and not (out if out is not None else record).get(column):
            copy()[column] = found[kind]
    return out if out is not None else record


def _unique(key: str, taken) -> str:
    """`key`, or `key 2`, `key 3`, ... when redaction made two keys the same."""
    candidate, n = key, 1
    while candidate in taken:
        n += 1
        candidate = f"{key} {n}"
    return candidate


_CONTRACT_FIELDS = frozenset(f["name"] for f in load_schema()["fields"]) | {
    "source_topic", "source_partition", "source_offset", "payload", "parse_errors"}


# ---- DuckDB SQL (the same rule for file loads) ---------------------------------------------
def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def sql_redact(expr: str) -> str:
    """SQL for redact_text(expr); NULL stays NULL."""
    email = f"regexp_replace({expr}, {sql_literal(EMAIL_RE)}, {sql_literal(EMAIL_REPLACEMENT)}, 'g')"
    email = f"(case when contains({expr}, '@') then {email} else {expr} end)"
    phone = sql_literal(PHONE_RE)
    sub = sql_literal(_PHONE_SUB)
    return (f"(case when regexp_matches({email}, {phone}) then regexp_replace(regexp_replace({email}, {phone}, {sub}, 'g'),"
            f" {phone}, {sub}, 'g') else {email} end)")


def sql_field_kind(name_expr: str) -> tuple[str, str]:
    """SQL booleans (is an e-mail field, is a phone field) for a key expression."""
    normalized = f"regexp_replace(lower({name_expr}), '[^a-z0-9]', '', 'g')"
    email = f"(?:{_alternatives(field_rules().email_patterns)}){NUMBERED}"
    phone = f"(?:{_alternatives(field_rules().phone_patterns)}){NUMBERED}"
    is_email = f"regexp_full_match({normalized}, {sql_literal(email)})"
    return is_email, f"(not {is_email} and regexp_full_match({normalized}, {sql_literal(phone)}))"


def sql_map_has_pii_key(map_expr: str) -> str:
    """SQL: some key of the map is PII-named. One regex over the joined, normalised keys instead
    of one per entry: the common map has none and then costs a single scan."""
    keys = f"regexp_replace(lower(array_to_string(map_keys({map_expr}), chr(1))), '[^a-z0-9\x01]', '', 'g')"
    names = _alternatives(field_rules().email_patterns + field_rules().phone_patterns)
    pattern = sql_literal(rf"(?:^|\x01)(?:{names}){NUMBERED}(?:\x01|$)")
    return f"coalesce(regexp_matches({keys}, {pattern}), false)"


def sql_map_has_pii_value(map_expr: str) -> str:
    """SQL: some key or value of the map may hold an address or a number (chr(1) joins them, and is a
    boundary for PHONE_RE, so they never run into each other)."""
    values = f"array_to_string(list_concat(map_keys({map_expr}), map_values({map_expr})), chr(1))"
    return f"coalesce(contains({values}, '@') or regexp_matches({values}, {sql_literal(PHONE_RE)}), false)"


def sql_hash_email(expr: str, salt: str) -> str:
    """SQL for hash_email(expr): sha256(salt || lower(trim(expr)))."""
    return f"sha256({sql_literal(salt)} || lower(trim({expr})))"


def sql_hash_phone(expr: str, salt: str) -> str:
    """SQL for hash_phone(expr): digits only, a leading + kept."""
    normalized = f"(case when trim({expr}) like '+%' then '+' else '' end || regexp_replace({expr}, '[^0-9]', '', 'g'))"
    return f"sha256({sql_literal(salt)} || {normalized})"


def sql_email_field_hash(expr: str, salt: str) -> str:
    """SQL for email_field_hash(expr)."""
    found = f"regexp_extract({expr}, {sql_literal(EMAIL_RE)})"
    return f"(case when regexp_matches({expr}, {sql_literal(EMAIL_RE)}) then {sql_hash_email(found, salt)} end)"


def sql_phone_field_hash(expr: str, salt: str) -> str:
    """SQL for phone_field_hash(expr)."""
    n_digits = f"length(regexp_replace({expr}, '[^0-9]', '', 'g'))"
    return f"(case when {n_digits} >= {field_rules().phone_min_digits} then {sql_hash_phone(expr, salt)} end)"


def sql_scrub_id(name: str, expr: str, salt: str) -> str:
    """SQL for the identifier rule on one ID column."""
    email = f"contains({expr}, '@') and regexp_matches({expr}, {sql_literal(EMAIL_RE)})"
    out = f"case when {email} then {sql_hash_email(expr, salt)}"
    if name == "phone_hash":
        out += (f" when not regexp_full_match({expr}, '[0-9a-f]{{64}}') and {sql_phone_field_hash(expr, salt)} is not null"
                f" then {sql_hash_phone(expr, salt)}")
    return f"({out} else {expr} end)"


def sql_is_email(expr: str) -> str:
    """SQL: the whole (trimmed) value is one e-mail address."""
    return f"(contains({expr}, '@') and regexp_full_match(trim({expr}), {sql_literal(EMAIL_RE)}))"


# ---- Arrow (the Kafka decoder's vectorised pre-check) ---------------------------------------
def rows_needing_scrub(table: pa.Table) -> np.ndarray:
    """Boolean per row: might `scrub_record` change it? A superset is fine (the Python rule then
    finds nothing to do); a row marked False certainly needs nothing. RE2 runs over whole columns,
    so the common case — no PII anywhere — costs a few vectorised scans, not a Python call per row."""
    mask = np.zeros(table.num_rows, dtype=bool)
    for name in FREE_TEXT_COLUMNS:
        mask |= _true(_maybe_pii(table.column(name)))
    for name in ID_COLUMNS:
        column = table.column(name)
        mask |= _true(pc.match_substring(column, "@"))
        if name == "phone_hash":
            mask |= _true(pc.invert(pc.match_substring_regex(column, "^[0-9a-f]{64}$")))
    properties = table.column("properties").combine_chunks()
    if len(properties.values):
        keys = properties.keys
        suspicious = (_true(_maybe_pii(properties.items)) | _true(_maybe_pii(keys))
                      | _true(pc.is_in(keys, value_set=_pii_keys(keys))))
        offsets = properties.offsets.to_numpy()
        parents = np.repeat(np.arange(len(properties)), np.diff(offsets))[:len(suspicious)]
        mask[parents[suspicious]] = True
    return mask


def _true(flags) -> np.ndarray:
    return pc.fill_null(flags, False).to_numpy(zero_copy_only=False)


def _maybe_pii(column):
    return pc.or_(pc.match_substring(column, "@"), pc.match_substring_regex(column, PHONE_RE))


def _pii_keys(keys: pa.Array) -> pa.Array:
    return pa.array([k for k in pc.unique(keys).to_pylist() if k is not None and pii_kind(k)], pa.string())
