"""Reads a CSV, Parquet or JSON-lines file of touchpoints into the contract's columns, in DuckDB.

Used by `journeys produce --file` (replay into Kafka) and `journeys load --file` (backfill
straight into raw). Columns are named as in the contract; `renames` maps other names onto it.
Raw `email` / `phone` columns are hashed here (salted SHA-256, the same function as the
producer's) and never leave this query. Every other unknown column goes into `properties`.
A missing event_id becomes `gen-` + md5 of the row's content, so replaying a file twice
produces the same ids and staging's dedup removes the second copy.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from journeys.pipelines.raw_writer import CONTRACT_COLUMNS
from journeys.schemas.contract import pii_salt

_TYPES = {"occurred_at": "timestamptz", "received_at": "timestamptz", "revenue": "double", "nps_score": "integer",
          "csat_score": "integer", "ces_score": "integer"}
_READERS = {".csv": "read_csv({path}, all_varchar = true, header = true)",
            ".parquet": "read_parquet({path})",
            ".jsonl": "read_json({path}, format = 'newline_delimited')",
            ".ndjson": "read_json({path}, format = 'newline_delimited')",
            ".json": "read_json({path}, format = 'newline_delimited')"}
RAW_PII = {"email": "lower(trim({c}))",
           "phone": "case when trim({c}) like '+%' then '+' else '' end || regexp_replace({c}, '[^0-9]', '', 'g')"}


class SourceFileError(ValueError):
    pass


def parse_renames(pairs: list[str] | None) -> dict[str, str]:
    renames = {}
    for pair in pairs or []:
        src, sep, dst = pair.partition("=")
        if not sep or not src or not dst:
            raise SourceFileError(f"--map expects src=dst, got {pair!r}")
        if dst not in CONTRACT_COLUMNS and dst not in RAW_PII:
            raise SourceFileError(f"--map {pair}: {dst!r} is not a contract column ({', '.join(CONTRACT_COLUMNS)})")
        renames[src] = dst
    return renames


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def incoming_sql(con: duckdb.DuckDBPyConnection, path: Path, renames: dict[str, str] | None = None) -> str:
    """A SELECT producing the `incoming` shape (contract + source columns) from the file."""
    path = Path(path)
    if not path.exists():
        raise SourceFileError(f"{path}: no such file")
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise SourceFileError(f"{path}: unsupported file type {path.suffix!r} (use .csv, .parquet, .jsonl or .json)")
    source = reader.format(path=_lit(str(path)))
    try:
        columns = [row[0] for row in con.execute(f"describe select * from {source}").fetchall()]
    except duckdb.Error as exc:
        raise SourceFileError(f"{path}: cannot read: {exc}") from None
    renames = renames or {}
    unknown_map = set(renames) - set(columns)
    if unknown_map:
        raise SourceFileError(f"--map names columns not in the file: {', '.join(sorted(unknown_map))}")
    target = {c: renames.get(c, c) for c in columns}
    by_target = {dst: src for src, dst in target.items()}

    select = []
    for name in CONTRACT_COLUMNS:
        src = by_target.get(name)
        if name == "properties":
            continue
        if name in ("email_hash", "phone_hash") and src is None and name.split("_")[0] in by_target:
            raw = by_target[name.split("_")[0]]
            normalized = RAW_PII[name.split("_")[0]].format(c=f"{_q(raw)}::varchar")
            expr = f"case when nullif(trim({_q(raw)}::varchar), '') is not null then sha256({_lit(pii_salt())} || {normalized}) end"
        elif src is None:
            expr = "null"
        else:
            expr = f"try_cast({_q(src)} as {_TYPES.get(name, 'varchar')})"
        if name == "event_id":
            content = " || '|' || ".join(f"coalesce({_q(c)}::varchar, '\\N')" for c in columns)
            expr = f"coalesce(nullif(trim({expr}), ''), 'gen-' || md5({content}))"
        select.append(f"{expr}::{_TYPES.get(name, 'varchar')} as {name}")

    extras = [c for c in columns if target[c] not in CONTRACT_COLUMNS and target[c] not in RAW_PII]
    entries = ", ".join(f"struct_pack(key := {_lit(c)}, value := {_q(c)}::varchar)" for c in extras)
    extra_map = f"map_from_entries(list_filter([{entries}], lambda e: e.value is not null))" if extras else "map {}"
    props_src = by_target.get("properties")
    properties = f"map_concat({_q(props_src)}, {extra_map})" if props_src else extra_map
    select.append(f"{properties}::map(varchar, varchar) as properties")
    # The row as JSON for dead letters, without raw PII.
    kept = [c for c in columns if target[c] not in RAW_PII]
    payload = "to_json(struct_pack(" + ", ".join(f"{_q(c)} := {_q(c)}" for c in kept) + "))::blob"
    select += [f"{_lit('file:' + path.name)} as source_topic", "null::integer as source_partition",
               "(row_number() over ())::bigint as source_offset", f"{payload} as payload",
               "null::varchar as parse_errors"]
    return f"select {', '.join(select)} from {source}"
