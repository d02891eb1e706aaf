"""Reads a CSV, Parquet or JSON-lines file of touchpoints into the `incoming` shape, strictly.

Used by `journeys produce --file` (replay into Kafka) and `journeys load --file` (backfill
straight into raw); both then apply validated_incoming.sql. Columns are named as in the
contract; `renames` maps other names onto it. Every file row comes out exactly once: loaded, or
dead-lettered with its line number (`source_offset`: the physical line number for CSV and
JSON-lines, the 1-based row number for Parquet) and every reason it failed. Nothing is rounded
or nulled silently:

* **Text first.** Every value is read as text (Parquet: cast to text, except timestamps and a
  string map `properties`, which are kept) and converted row by row; each failed conversion is
  listed in `parse_errors` (`revenue 'abc' is not a number`, `nps_score '7.5' is not a whole
  number`, `revenue 'inf' is not finite`, `occurred_at 'yesterday-ish' is not a timestamp`,
  `csat_score '99999999999' out of range`). An empty value is missing (NULL), not an error.
  Numbers: decimal or scientific notation, finite. Scores: whole numbers ("7" or "7.0") that fit
  in 32 bits. Timestamps: `YYYY-MM-DD[T ]HH:MM[:SS[.ffffff]]` with an optional `Z` or `±HH[:MM]`
  offset; without one they are UTC. Channels are lower-cased and trimmed (' Web ' is 'web').
* **One physical line, one record** (CSV and JSON-lines). Lines are split here, not by DuckDB's
  CSV reader, so one broken line never takes its neighbours with it: a quoted CSV field may hold
  the delimiter and doubled quotes but not a line break. A line with the wrong number of fields,
  an unbalanced or stray quote, invalid UTF-8 or more than the setting `file_max_line_bytes` (1 MiB), or
  (JSON-lines) that is not a JSON object, is dead-lettered on its own. Empty lines are not rows
  (a line of only spaces is, and fails as one). The CSV delimiter is the one of `, ; tab |` that
  appears most in the header line; quotes are `"`.
* **JSON-lines** values are read per line against the file's keys, so one odd row never changes
  how a key is read: a contract column holding an object or array is a parse error for that row
  only. A `properties` object becomes a string map (nested values as JSON text); a `properties`
  that is not an object is a parse error. Other unknown keys (and unknown CSV / Parquet columns)
  go into `properties` too.
* **Personal data** follows schemas/pii.py, in SQL built from its patterns: PII-named columns and
  property keys are hashed into email_hash / phone_hash and dropped, free text is redacted, an
  identifier holding an e-mail address becomes its hash. The dead-letter payload is the row as
  JSON after that scrub (a malformed line: `{"malformed_line": <the line, redacted>}`).

A missing event_id becomes `gen-` + md5 of the row's values (after the PII scrub), so replaying
a file twice produces the same ids and staging's dedup removes the second copy.
"""

from __future__ import annotations

import csv
import mmap
import os
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from journeys.pipelines.raw_writer import CONTRACT_COLUMNS
from journeys.schemas import pii
from journeys.schemas.contract import pii_salt

"""A CSV or JSON-lines line longer than this (1 MiB) is dead-lettered unread."""
_LINES_PER_CHUNK = 1 << 16  # Arrow chunks DuckDB scans in parallel
_DELIMITERS = (",", ";", "\t", "|")

_TIMESTAMPS = ("occurred_at", "received_at")
_INTEGERS = ("nps_score", "csat_score", "ces_score")
_TS_RE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?([Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)?"
_NUMBER_RE = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_NOT_FINITE_RE = r"[+-]?(?:inf|infinity|nan)"
_WHOLE_RE = r"[+-]?[0-9]+(?:\.0*)?"
_KINDS = {".csv": "csv", ".parquet": "parquet", ".jsonl": "json", ".ndjson": "json", ".json": "json"}
_lit = pii.sql_literal


class SourceFileError(ValueError):
    pass


def parse_renames(pairs: list[str] | None) -> dict[str, str]:
    renames = {}
    for pair in pairs or []:
        src, sep, dst = pair.partition("=")
        if not sep or not src or not dst:
            raise SourceFileError(f"--map expects src=dst, got {pair!r}")
        if dst not in CONTRACT_COLUMNS and not pii.pii_kind(dst):
            raise SourceFileError(f"--map {pair}: {dst!r} is not a contract column ({', '.join(CONTRACT_COLUMNS)})"
                                  " nor an e-mail / phone field")
        renames[src] = dst
    return renames


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass
class _Rows:
    """A format's rows as SQL: `_offset`, `_malformed` (why the row could not be read at all),
    `_raw` (a malformed line's text), `_shape` (JSON values of the wrong shape) and one column
    `r<i>` per file column, text unless `native` says otherwise."""

    relation: str
    columns: list[str]
    native: dict[str, str] = field(default_factory=dict)


# ---- lines (CSV and JSON-lines) ------------------------------------------------------------
@dataclass
class _Lines:
    """A file's non-empty lines, zero-copy over the memory-mapped file: line i is
    data[offsets[i]:offsets[i + 1]] — its text (lengths[i] bytes) then its terminator, plus the
    terminators of any empty lines after it — and was physical line numbers[i] (1-based).
    Terminators are stripped in SQL only where they matter (the last CSV field, a dead letter's
    copy of the line): copying every line to drop two bytes would cost more than the parse."""

    data: mmap.mmap | bytes
    offsets: np.ndarray
    numbers: np.ndarray
    lengths: np.ndarray

    def text(self, i: int) -> bytes:
        return bytes(self.data[self.offsets[i]:self.offsets[i] + self.lengths[i]])


def _split_lines(path: Path) -> _Lines:
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
    buf = np.frombuffer(data, dtype=np.uint8)
    step = 1 << 24
    newlines = np.concatenate([np.zeros(0, np.int64)] + [np.flatnonzero(buf[i:i + step] == 10) + i for i in range(0, size, step)])
    bom = 3 if size >= 3 and bytes(data[:3]) == b"\xef\xbb\xbf" else 0  # a UTF-8 BOM is no part of line 1
    starts = np.concatenate([[bom], newlines + 1]).astype(np.int64)
    ends = np.append(newlines - (buf[np.maximum(newlines - 1, 0)] == 13) * (newlines > 0), size).astype(np.int64)
    lengths = ends - starts
    non_empty = lengths > 0
    numbers = np.arange(1, len(starts) + 1, dtype=np.int64)
    return _Lines(data, np.append(starts[non_empty], size), numbers[non_empty], lengths[non_empty])


def _register_lines(con: duckdb.DuckDBPyConnection, lines: _Lines, first: int) -> str:
    """Registers lines `first`.. as an Arrow table (_offset, _line, _length, _bad) on `con`, in
    chunks DuckDB scans in parallel. A line that is not valid UTF-8 is replaced by its lossy
    decoding and `_bad` says where it broke, so SQL only ever sees valid text."""
    buffer = pa.py_buffer(lines.data)
    batches = []
    for lo in range(first, len(lines.numbers), _LINES_PER_CHUNK):
        hi = min(lo + _LINES_PER_CHUNK, len(lines.numbers))
        raw = pa.LargeBinaryArray.from_buffers(pa.large_binary(), hi - lo, [None, pa.py_buffer(lines.offsets[lo:hi + 1]), buffer])
        bad = pa.nulls(hi - lo, pa.string())
        try:
            text = raw.cast(pa.large_string())
        except pa.ArrowInvalid:
            texts, problems = [], []
            for value in raw.to_pylist():
                try:
                    texts.append(value.decode("utf-8"))
                    problems.append(None)
                except UnicodeDecodeError as exc:
                    texts.append(value.decode("utf-8", errors="replace"))
                    problems.append(f"is not valid UTF-8 (byte {exc.start + 1})")
            text, bad = pa.array(texts, pa.large_string()), pa.array(problems, pa.string())
        batches.append(pa.record_batch([pa.array(lines.numbers[lo:hi]), text, pa.array(lines.lengths[lo:hi]), bad],
                                       names=["_offset", "_line", "_length", "_bad"]))
    schema = pa.schema([("_offset", pa.int64()), ("_line", pa.large_string()), ("_length", pa.int64()), ("_bad", pa.string())])
    name = f"_file_lines_{uuid.uuid4().hex[:12]}"
    con.register(name, pa.Table.from_batches(batches, schema=schema))
    return name


_EOL = "chr(13) || chr(10)"


def _lines_sql(name: str, max_line_bytes: int) -> str:
    """The lines, with the reason a line cannot be read at all (invalid UTF-8, too long)."""
    return f"""(select _offset, _line, case
            when _bad is not null then 'line ' || _offset || ' ' || _bad
            when _length > {int(max_line_bytes)} then 'line ' || _offset || ' is ' || _length
                || ' bytes, over the {int(max_line_bytes)}-byte limit (file_max_line_bytes)'
            end as _unreadable
        from {name})"""


def _csv_header(lines: _Lines, path: Path) -> tuple[list[str], str]:
    if not len(lines.numbers):
        raise SourceFileError(f"{path}: empty file, no header line")
    try:
        header = lines.text(0).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SourceFileError(f"{path}: the header line is not valid UTF-8") from None
    if "\r" in header:
        raise SourceFileError(f"{path}: lines end in a bare carriage return (an old Mac or Excel export): "
                              "save it with LF or CRLF line endings")
    delimiter = max(_DELIMITERS, key=lambda d: (header.count(d), d == ","))
    names = next(csv.reader([header], delimiter=delimiter, strict=True), [])
    if not names or any(not n.strip() for n in names):
        raise SourceFileError(f"{path}: the header line has an empty column name")
    if len({n.strip().lower() for n in names}) != len(names):  # DuckDB names ignore case
        raise SourceFileError(f"{path}: the header line repeats a column name (names are compared ignoring case)")
    return names, delimiter


def _csv_rows(con, path: Path, max_line_bytes: int) -> _Rows:
    split = _split_lines(path)
    names, delim = _csv_header(split, path)
    lines = _lines_sql(_register_lines(con, split, first=1), max_line_bytes)
    d = "\\t" if delim == "\t" else "\\" + delim
    quoted = r'"(?:[^"]|"")*"'
    field_re = rf'(?:^|{d})({quoted}|[^{d}"]*)'
    line_re = rf'(?:{quoted}|[^{d}"]*)(?:{d}(?:{quoted}|[^{d}"]*))*[\r\n]*'
    columns = []
    for i in range(len(names)):
        value = f"_f[{i + 1}]" if i < len(names) - 1 else f"rtrim(_f[{i + 1}], {_EOL})"  # the last one has the line end
        unquoted = f"replace(substr({value}, 2, length({value}) - 2), '\"\"', '\"')"
        columns.append(f"case when _malformed is not null then null when _quoted and starts_with({value}, '\"') then {unquoted}"
                       f" else {value} end as r{i}")
    relation = f"""(select _offset, _malformed, case when _malformed is not null then rtrim(_line, {_EOL}) end as _raw,
            null::varchar as _shape, {', '.join(columns)}
        from (select _offset, _line, _f, _quoted, coalesce(_unreadable, case
                when _quoted and not regexp_full_match(_line, {_lit(line_re)})
                    then 'line ' || _offset || ' has an unbalanced or misplaced quote'
                when len(_f) <> {len(names)} then 'line ' || _offset || ' has ' || len(_f) || ' fields, expected {len(names)}'
                end) as _malformed
            from (select *, case when _unreadable is not null then []
                        when _quoted then regexp_extract_all(_line, {_lit(field_re)}, 1)
                        else string_split(_line, {_lit(delim)}) end as _f
                from (select *, contains(_line, '"') as _quoted from {lines}))))"""
    return _Rows(relation, names)


def _json_kind(text: str) -> str:
    """What valid JSON text is, from its first character: cheaper than json_type's second parse."""
    return (f"case left(ltrim({text}), 1) when '{{' then 'object' when '[' then 'array' when '\"' then 'string'"
            f" when 't' then 'boolean' when 'f' then 'boolean' when 'n' then 'null' else 'number' end")


def _json_rows(con, path: Path, max_line_bytes: int) -> _Rows:
    """Each line is parsed twice: once for the values as text, once for them as JSON (whose first
    character tells an object or array from a value). The file's keys come from a first pass."""
    split = _split_lines(path)
    if bytes(split.data[:4096]).lstrip().startswith(b"["):
        raise SourceFileError(f"{path}: a JSON array; expected JSON lines (one object per line)")
    lines = _lines_sql(_register_lines(con, split, first=0), max_line_bytes)
    checked = f"""(select *, coalesce(_unreadable, case
            when not json_valid(_line) then 'line ' || _offset || ' is not valid JSON'
            when {_json_kind("_line")} <> 'object'
                then 'line ' || _offset || ' is a JSON ' || {_json_kind("_line")} || ', not an object'
            end) as _malformed from {lines})"""
    keys = [k for (k,) in con.execute(
        f"select distinct unnest(json_keys(_line)) as k from {checked} where _malformed is null order by k").fetchall()]
    paths = "[" + ", ".join(_lit("/" + k.replace("~", "~0").replace("/", "~1")) for k in keys) + "]"
    columns, shape = [], []
    for i, key in enumerate(keys):
        text, value = f"_s[{i + 1}]", f"_v[{i + 1}]::varchar"
        if key in CONTRACT_COLUMNS and key != "properties":
            nested = f"left({value}, 1) in ('{{', '[')"
            columns.append(f"case when not {nested} then {text} end as r{i}")
            shape.append(f"case when {nested} then {_lit(key)} || ' is a JSON ' || {_json_kind(value)} || ', not a value' end")
        elif key == "properties":
            columns.append(f"case when {value} <> 'null' then {value} end as r{i}")
        else:
            columns.append(f"{text} as r{i}")
    select = ", ".join(columns) if columns else "null::varchar as _none"
    shape_sql = f"nullif(concat_ws('; ', {', '.join(shape)}), '')" if shape else "null::varchar"
    relation = f"""(select _offset, _malformed, case when _malformed is not null then rtrim(_line, {_EOL}) end as _raw,
            {shape_sql} as _shape, {select}
        from (select _offset, _malformed, _line, case when _malformed is null then json_extract(_line, {paths}) end as _v,
                case when _malformed is null then json_extract_string(_line, {paths}) end as _s
              from {checked}))"""
    return _Rows(relation, keys)


# ---- Parquet -------------------------------------------------------------------------------
def _parquet_rows(con, path: Path, renames: dict[str, str]) -> _Rows:
    source = f"read_parquet({_lit(str(path))}, file_row_number = true)"
    try:
        described = con.execute(f"describe select * from {source}").fetchall()
    except duckdb.Error as exc:
        raise SourceFileError(f"{path}: cannot read: {exc}") from None
    names = [row[0] for row in described if row[0] != "file_row_number"]
    types = {row[0]: row[1] for row in described}
    columns, shape, native = [], [], {}
    for i, name in enumerate(names):
        target, kind = renames.get(name, name), types[name]
        nested = kind.startswith(("STRUCT", "MAP", "UNION")) or kind.endswith("]")
        if target in _TIMESTAMPS and kind.startswith("TIMESTAMP"):
            native[name] = "timestamp"
            tz = "WITH TIME ZONE" in kind or kind.startswith("TIMESTAMPTZ")
            columns.append(f"{_q(name)}::timestamptz as r{i}" if tz else f"timezone('UTC', {_q(name)}::timestamp) as r{i}")
        elif target == "properties" and kind == "MAP(VARCHAR, VARCHAR)":
            native[name] = "map"
            columns.append(f"{_q(name)} as r{i}")
        elif target == "properties" and _is_entry_list(kind):
            # A map as pandas and older writers store it: a list of {key, value} structs.
            native[name] = "map"
            keys = f"list_transform({_q(name)}, lambda e: e.key)"
            valid = (f"list_unique({keys}) = len({_q(name)})"
                     f" and not list_contains(list_transform({keys}, lambda k: k is null), true)")
            columns.append(f"case when {valid} then map_from_entries(list_transform({_q(name)}, lambda e: struct_pack("
                           f"key := e.key::varchar, value := e.value::varchar))) end as r{i}")
            shape.append(f"case when {_q(name)} is not null and not ({valid}) "
                         f"then 'properties has a missing or repeated key' end")
        elif nested and target in CONTRACT_COLUMNS and target != "properties":
            columns.append(f"null::varchar as r{i}")
            shape.append(f"case when {_q(name)} is not null then {_lit(f'{target} has type {kind}, not a value')} end")
        elif nested:
            columns.append(f"to_json({_q(name)})::varchar as r{i}")
        else:
            columns.append(f"{_q(name)}::varchar as r{i}")
    shape_sql = f"nullif(concat_ws('; ', {', '.join(shape)}), '')" if shape else "null::varchar"
    relation = f"""(select file_row_number + 1 as _offset, null::varchar as _malformed, null::varchar as _raw,
            {shape_sql} as _shape, {', '.join(columns) or 'null as _none'} from {source})"""
    return _Rows(relation, names, native)


def _redacted_names(names: list[str]) -> list[str]:
    """Column names as they may be stored (as property keys, payload keys): an address or number in a
    header is redacted like any text, and made unique again (DuckDB names ignore case)."""
    out, seen = [], set()
    for name in names:
        candidate, n = pii.redact_text(name) or "(empty)", 1
        while candidate.lower() in seen:
            n += 1
            candidate = f"{pii.redact_text(name) or '(empty)'} {n}"
        seen.add(candidate.lower())
        out.append(candidate)
    return out


def _is_entry_list(kind: str) -> bool:
    """DuckDB's type name of a list of key/value structs, e.g. STRUCT("key" VARCHAR, "value" VARCHAR)[]."""
    return re.fullmatch(r'STRUCT\("?key"? [A-Z]+, "?value"? [A-Z]+\)\[\]', kind) is not None


# ---- the shared typing, scrubbing and payload ----------------------------------------------
def _quoted(expr: str, redact: bool = True) -> str:
    """A value for a reason text: at most 80 characters, in quotes, redacted unless it is a number
    (a number that parses is a number, not a phone number typed into the wrong column)."""
    return "chr(39) || left(" + (pii.sql_redact(expr) if redact else expr) + ", 80) || chr(39)"


def _typed(name: str) -> tuple[str, str]:
    """(the typed value of t_<name>, its parse error given that value v_<name>)."""
    t, v = f"t_{name}", f"v_{name}"
    if name in _TIMESTAMPS:  # incoming_sql sets the session to UTC: a naive timestamp is UTC
        value = f"case when regexp_full_match({t}, {_lit(_TS_RE)}) then try_cast({t} as timestamptz) end"
        error = (f"case when {v} is not null or {t} is null then null"
                 f" when regexp_full_match(lower({t}), {_lit(_NOT_FINITE_RE)}) then '{name} ' || {_quoted(t)} || ' is not finite'"
                 f" else '{name} ' || {_quoted(t)} || ' is not a timestamp' end")
    elif name == "revenue":
        value = f"case when regexp_full_match({t}, {_lit(_NUMBER_RE)}) then try_cast({t} as double) end"
        error = (f"case when isfinite({v}) or {t} is null then null"
                 f" when {v} is not null or regexp_full_match(lower({t}), {_lit(_NOT_FINITE_RE)})"
                 f" then '{name} ' || {_quoted(t)} || ' is not finite'"
                 f" else '{name} ' || {_quoted(t)} || ' is not a number' end")
    else:
        value = (f"case when regexp_full_match({t}, {_lit(_WHOLE_RE)})"
                 f" then try_cast(regexp_replace({t}, '\\.0*$', '') as integer) end")
        error = (f"case when {v} is not null or {t} is null then null"
                 f" when regexp_full_match({t}, {_lit(_WHOLE_RE)})"
                 f" then '{name} ' || {_quoted(t, redact=False)} || ' out of range'"
                 f" else '{name} ' || {_quoted(t)} || ' is not a whole number' end")
    return value, error


def _json_map(p: str) -> str:
    """A JSON-object text as map(varchar, varchar): nested values as JSON text (duplicate keys: one kept)."""
    pointer = "'/' || replace(replace(k, '~', '~0'), '/', '~1')"
    entries = (f"list_transform(list_distinct(json_keys({p})),"
               f" lambda k: struct_pack(key := k, value := json_extract_string({p}, {pointer})))")
    return f"case when {_is_object(p)} then map_from_entries(list_filter({entries}, lambda e: e.value is not null)) end"


def _is_object(p: str) -> str:
    """SQL: the text is a JSON object (json_type raises on invalid JSON, and AND evaluates both sides)."""
    return f"coalesce(case when json_valid({p}) then json_type({p}) = 'OBJECT' end, false)"


def _first(hashes: list[str]) -> str:
    return f"coalesce({', '.join(hashes)})" if hashes else "null::varchar"


# A malformed line has no values to validate. These placeholders keep validated_incoming from
# listing rules it could not check ("missing event_type", ...); the row is rejected all the same,
# since its parse_errors is never NULL, and its payload is the line itself.
_MALFORMED_PLACEHOLDERS = {"event_id": "'malformed'", "channel": "'web'", "event_type": "'malformed'",
                           "customer_id": "'malformed'"}


def incoming_sql(con: duckdb.DuckDBPyConnection, path: Path, renames: dict[str, str] | None = None,
                 *, max_line_bytes: int) -> str:
    """A SELECT producing the `incoming` shape (contract + source columns) from the file. For CSV
    and JSON-lines it registers the file's lines on `con` (zero-copy over the mapped file)."""
    path = Path(path)
    if not path.exists():
        raise SourceFileError(f"{path}: no such file")
    kind = _KINDS.get(path.suffix.lower())
    if kind is None:
        raise SourceFileError(f"{path}: unsupported file type {path.suffix!r} (use .csv, .parquet, .jsonl or .json)")
    renames = renames or {}
    con.execute("SET TimeZone = 'UTC'")  # what every warehouse connection uses; naive times are UTC
    if kind == "csv":
        rows = _csv_rows(con, path, max_line_bytes)
    elif kind == "json":
        rows = _json_rows(con, path, max_line_bytes)
    else:
        rows = _parquet_rows(con, path, renames)
    unknown_map = set(renames) - set(rows.columns)
    if unknown_map:
        raise SourceFileError(f"--map names columns not in the file: {', '.join(sorted(unknown_map))}")
    return _select(rows, renames, path)


def _select(rows: _Rows, renames: dict[str, str], path: Path) -> str:
    """The incoming shape over a format's rows, in layers so each expensive expression runs once
    per row: (1) scrubbed text per column, PII-field hashes, the parsed properties map; (2a) does
    the map hold PII-looking keys or values; (2) scrubbed properties, the email/phone hashes, typed
    values; (3) parse errors, placeholders for malformed lines, payload, the contract columns."""
    salt = pii_salt()
    target = {c: renames.get(c, c) for c in rows.columns}
    by_target: dict[str, str] = {}
    for src, dst in target.items():
        if dst in CONTRACT_COLUMNS and dst in by_target:
            raise SourceFileError(f"{path}: columns {by_target[dst]!r} and {src!r} both map to {dst!r}")
        by_target.setdefault(dst, src)

    # Layer 1: every value as scrubbed text (typed columns: trimmed), the PII hashes, properties.
    l1 = ["_offset", "_malformed", "_raw", "_shape"]
    email_hashes, phone_hashes, extras, content, payload = [], [], [], [], []
    for i, src in enumerate(rows.columns):
        dst, r = target[src], f"nullif(r{i}, '')" if src not in rows.native else f"r{i}"
        kind = None if dst in CONTRACT_COLUMNS else pii.pii_kind(dst)
        if kind:
            field_hash = pii.sql_email_field_hash if kind == "email" else pii.sql_phone_field_hash
            l1.append(f"{field_hash(r, salt)} as h{i}")
            (email_hashes if kind == "email" else phone_hashes).append(f"h{i}")
            content.append(f"h{i}")
        elif dst == "properties":
            l1.append(f"r{i}::varchar as p{i}")
            content.append(pii.sql_redact(f"p{i}"))
        elif dst in CONTRACT_COLUMNS:
            if src in rows.native:
                l1.append(f"{r} as t_{dst}")
            elif dst in _TIMESTAMPS or dst in _INTEGERS or dst == "revenue":
                l1.append(f"nullif(trim(r{i}), '') as t_{dst}")
            elif dst == "channel":
                l1.append(f"nullif(lower(trim({pii.sql_redact(r)})), '') as t_{dst}")
            elif dst in pii.ID_COLUMNS:
                l1.append(f"{pii.sql_scrub_id(dst, r, salt)} as t_{dst}")
            else:
                l1.append(f"{pii.sql_redact(r)} as t_{dst}")
            content.append(f"t_{dst}::varchar")
            payload.append((src, dst))
        else:
            l1.append(f"{pii.sql_redact(r)} as x{i}")
            extras.append((src, f"x{i}"))
            content.append(f"x{i}")
            payload.append((src, f"x{i}"))
    n_email_columns = len(email_hashes)
    for name in pii.LINKING_ID_COLUMNS:
        if name in by_target:
            value = f"nullif(r{rows.columns.index(by_target[name])}, '')"
            l1.append(f"case when {pii.sql_is_email(value)} then {pii.sql_hash_email(value, salt)} end as l_{name}")
            email_hashes.append(f"l_{name}")

    # Properties from the file (a map or JSON text) are scrubbed entry by entry only in rows where
    # a key or a value looks like PII: most rows pass through untouched.
    props_error, email_from_map, phone_from_map = "null::varchar", [], []
    props = "null::map(varchar, varchar)"
    l2a = ["*"]
    if "properties" in by_target:
        src = by_target["properties"]
        r = f"r{rows.columns.index(src)}"
        l1.append(f"{r if rows.native.get(src) == 'map' else _json_map(r)} as _pm")
        if rows.native.get(src) != "map":
            props_error = (f"case when {r} is not null and not {_is_object(r)}"
                           f" then 'properties ' || {_quoted(r)} || ' is not a JSON object' end")
        l2a += [f"{pii.sql_map_has_pii_key('_pm')} as _pm_key", f"{pii.sql_map_has_pii_value('_pm')} as _pm_value"]
        is_email, is_phone = pii.sql_field_kind("e.key")
        for is_kind, field_hash, out in ((is_email, pii.sql_email_field_hash, email_from_map),
                                         (is_phone, pii.sql_phone_field_hash, phone_from_map)):
            out.append(f"case when _pm_key then list_filter(list_transform(list_filter(map_entries(_pm), lambda e: {is_kind}),"
                       f" lambda e: {field_hash('e.value', salt)}), lambda h: h is not null)[1] end")
        kept = f"list_filter(map_entries(_pm), lambda e: not {is_email} and not {is_phone})"
        scrubbed = (f"map_from_entries(list_transform({kept}, lambda e: struct_pack(key := {pii.sql_redact('e.key')}, "
                    f"value := {pii.sql_redact('e.value')})))")
        props = f"case when _pm_key or _pm_value then {scrubbed} else _pm end"
        payload.append((src, "_props"))
    l1.append(f"{props_error} as _props_error")
    email_hashes = email_hashes[:n_email_columns] + email_from_map + email_hashes[n_email_columns:]
    present = "[" + ", ".join(f"{x} is not null" for _, x in extras) + "]"
    extra_map = (f"map(list_where([{', '.join(_lit(k) for k in _redacted_names([k for k, _ in extras]))}], {present}),"
                 f" list_where([{', '.join(x for _, x in extras)}], {present}))" if extras else None)

    # Layer 2: properties, hashes, typed values. Layer 3: parse errors, placeholders, payload, the incoming shape.
    typed = [n for n in _TIMESTAMPS + ("revenue",) + _INTEGERS if n in by_target]
    if "properties" in by_target and extra_map:
        properties = f"map_concat(coalesce(_props, map {{}}::map(varchar, varchar)), {extra_map})"
    elif "properties" in by_target:
        properties = "coalesce(_props, map {}::map(varchar, varchar))"
    else:
        properties = extra_map or "map {}::map(varchar, varchar)"
    l2 = ["*", f"{props} as _props", f"{_first(email_hashes)} as _email_hash",
          f"{_first(phone_hashes + phone_from_map)} as _phone_hash"]
    l2 += [f"{_typed(n)[0]} as v_{n}" if by_target[n] not in rows.native else f"t_{n} as v_{n}" for n in typed]
    errors = ["_malformed", "_shape", "_props_error"] + [_typed(n)[1] for n in typed if by_target[n] not in rows.native]
    select = []
    for name in CONTRACT_COLUMNS:
        if name == "properties":
            expr = f"case when _malformed is null then {properties} end"
        elif name in typed:
            expr = f"case when isfinite(v_{name}) then v_{name} end" if name == "revenue" else f"v_{name}"
        elif name == "email_hash":
            expr = "coalesce(nullif(trim(t_email_hash), ''), _email_hash)" if name in by_target else "_email_hash"
        elif name == "phone_hash":
            expr = "coalesce(nullif(trim(t_phone_hash), ''), _phone_hash)" if name in by_target else "_phone_hash"
        elif name in by_target:
            expr = f"t_{name}"
        else:
            expr = "null"
        if name == "event_id":  # md5 only where it is needed: most rows have an id
            content_sql = ", ".join(f"coalesce({c}, '\\N')" for c in content) or "''"
            expr = (f"case when nullif(trim({expr}), '') is not null then trim({expr})"
                    f" else 'gen-' || md5(concat_ws('|', {content_sql})) end")
        if name in _MALFORMED_PLACEHOLDERS:
            expr = f"case when _malformed is null then {expr} else {_MALFORMED_PLACEHOLDERS[name]} end"
        sql_type = "timestamptz" if name in _TIMESTAMPS else "double" if name == "revenue" else \
            "integer" if name in _INTEGERS else "map(varchar, varchar)" if name == "properties" else "varchar"
        select.append(f"({expr})::{sql_type} as {name}")
    fields = []
    payload_names = dict(zip([src for src, _ in payload], _redacted_names([src for src, _ in payload])))
    for src, ref in payload:
        if ref in typed and src in rows.native:
            ref = f"v_{ref}"
        elif ref in typed:  # a value that parsed is a number or a time; one that did not is text to redact
            ref = f"case when v_{ref} is not null then t_{ref} else {pii.sql_redact(f't_{ref}')} end"
        elif ref in CONTRACT_COLUMNS:
            ref = f"t_{ref}"
        fields.append(f"{_q(payload_names[src])} := {ref}")
    row_json = f"to_json(struct_pack({', '.join(fields)}))" if fields else "'{}'"
    line_json = "to_json(struct_pack(malformed_line := left(" + pii.sql_redact("_raw") + ", 65536)))"
    select += [f"{_lit('file:' + pii.redact_text(path.name))} as source_topic", "null::integer as source_partition",
               "_offset::bigint as source_offset",
               f"(case when _malformed is null then {row_json} else {line_json} end)::blob as payload",
               f"nullif(concat_ws('; ', {', '.join(errors)}), '')::varchar as parse_errors"]
    return (f"select {', '.join(select)} from (select {', '.join(l2)} from (select {', '.join(l2a)} from "
            f"(select {', '.join(l1)} from {rows.relation})))")
