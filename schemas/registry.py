"""Avro single-object encoding for touchpoints, with writer-schema resolution.

Every Kafka message is `C3 01` + the writer schema's 8-byte CRC-64-AVRO fingerprint
(little-endian, as the Avro specification puts it) + the Avro binary body. The consumer looks
the fingerprint up among the known schemas (the `*.avsc` files in this folder, plus any a
deployment registers) and lets fastavro resolve writer vs reader schema. A message from an
unknown writer schema is not guessed at: it is dead-lettered with that reason.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.schema import fingerprint, to_parsing_canonical_form

SCHEMA_DIR = Path(__file__).resolve().parent
MAGIC = b"\xc3\x01"
HEADER_LEN = len(MAGIC) + 8
CURRENT_VERSION = 1


class DecodeError(ValueError):
    """A message that cannot be read as a touchpoint; the text is the dead letter's reason."""


def schema_fingerprint(schema: dict | str) -> bytes:
    """CRC-64-AVRO of the parsing canonical form, as the 8 little-endian bytes on the wire."""
    return bytes.fromhex(fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO"))


def load_schema(version: int = CURRENT_VERSION, folder: Path = SCHEMA_DIR) -> dict:
    return json.loads((folder / f"touchpoint.v{version}.avsc").read_text())


def physical_schema(schema: dict) -> dict:
    """The same schema with timestamp logical types read as plain longs (microseconds).

    The wire bytes and the fingerprint (taken over the canonical form, which drops logical
    types) are unchanged; decoding skips building a datetime per field, which the warehouse
    would only take apart again. Arrow turns the longs into timestamps column-wise.
    """
    fields = []
    for f in schema["fields"]:
        kind = f["type"]
        if isinstance(kind, dict) and kind.get("logicalType", "").startswith("timestamp"):
            f = {**f, "type": {"type": kind["type"]}}
        fields.append(f)
    return {**schema, "fields": fields}


@dataclass
class _Known:
    parsed: dict
    resolve_with_reader: bool


class SchemaRegistry:
    """Known writer schemas by fingerprint, and one reader schema to decode them into.

    `timestamps_as_micros=True` returns timestamps as microseconds since the epoch (the ingester's
    fast path); otherwise as timezone-aware datetimes.
    """

    def __init__(self, reader_schema: dict | None = None, folder: Path = SCHEMA_DIR, timestamps_as_micros: bool = False):
        self.reader_schema = reader_schema or load_schema(CURRENT_VERSION, folder)
        self._shape = physical_schema if timestamps_as_micros else (lambda schema: schema)
        self._reader_parsed = parse_schema(self._shape(self.reader_schema))
        self._reader_fp = schema_fingerprint(self.reader_schema)
        self._known: dict[bytes, _Known] = {}
        for path in sorted(folder.glob("touchpoint.v*.avsc")):
            self.register(json.loads(path.read_text()))
        self.register(self.reader_schema)

    def register(self, writer_schema: dict) -> bytes:
        """Make a writer schema known (deploying its .avsc does the same). Returns its fingerprint."""
        fp = schema_fingerprint(writer_schema)
        same = fp == self._reader_fp
        # Resolution costs about a third of decode speed: skip it when writer == reader.
        self._known[fp] = _Known(self._reader_parsed if same else parse_schema(self._shape(writer_schema)), not same)
        return fp

    @property
    def fingerprints(self) -> list[bytes]:
        return list(self._known)

    def decode(self, message: bytes) -> dict:
        if message is None or len(message) < HEADER_LEN or message[:2] != MAGIC:
            raise DecodeError("not Avro single-object encoded (missing C3 01 header)")
        known = self._known.get(message[2:HEADER_LEN])
        if known is None:
            raise DecodeError(f"unknown writer schema fingerprint {message[2:HEADER_LEN].hex()}")
        buffer = io.BytesIO(message)
        buffer.seek(HEADER_LEN)
        try:
            if known.resolve_with_reader:
                record = schemaless_reader(buffer, known.parsed, self._reader_parsed)
            else:
                record = schemaless_reader(buffer, known.parsed)
        except Exception as exc:  # fastavro raises many types on corrupt input
            raise DecodeError(f"corrupt Avro body: {type(exc).__name__}: {exc}") from None
        if buffer.tell() != len(message):
            raise DecodeError(f"{len(message) - buffer.tell()} trailing bytes after the Avro record")
        return record


class Encoder:
    """Writes records with one writer schema, framed for the wire."""

    def __init__(self, writer_schema: dict | None = None):
        schema = writer_schema or load_schema(CURRENT_VERSION)
        self._parsed = parse_schema(schema)
        self._header = MAGIC + schema_fingerprint(schema)

    def encode(self, record: dict) -> bytes:
        buffer = io.BytesIO()
        buffer.write(self._header)
        schemaless_writer(buffer, self._parsed, record)
        return buffer.getvalue()
