"""Tiny warehouses for tests: a real DuckDB file, a few raw touchpoints, the journey model built.

    con = warehouse(tmp_path)
    events(con, ["web page_view", "web add_to_cart", "web purchase 20"])
    build(con)
    rows(con, "select journey_type from marts.journeys")

A row is a string "channel event_type [revenue]" or a dict of raw.touchpoints columns. Unless a
row says otherwise it belongs to customer c1, happens an hour after the row before it (from
2024-03-01 09:00), is received and ingested when it happens, and has a fresh event_id (e1, e2, ...
numbered across calls, so later calls add events rather than repeat them). A revenue is in EUR (the
default reporting currency) unless the row gives a currency.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from journeys import warehouse as gateway
from journeys.pipelines.raw_writer import create_raw_tables
from journeys.schemas.contract import IDENTIFIERS
from journeys.settings import Settings
from journeys.transforms import build_plan

START = dt.datetime(2024, 3, 1, 9, 0)
HOUR = dt.timedelta(hours=1)

_COLUMNS = {
    "event_id": pa.string(), "occurred_at": pa.timestamp("us"), "received_at": pa.timestamp("us"),
    "channel": pa.string(), "event_type": pa.string(), "customer_id": pa.string(), "anonymous_id": pa.string(),
    "email_hash": pa.string(), "phone_hash": pa.string(), "loyalty_id": pa.string(), "session_id": pa.string(),
    "order_id": pa.string(), "revenue": pa.float64(), "currency": pa.string(), "campaign": pa.string(),
    "source": pa.string(), "medium": pa.string(), "product_id": pa.string(), "ticket_id": pa.string(),
    "nps_score": pa.int32(), "csat_score": pa.int32(), "ces_score": pa.int32(), "source_topic": pa.string(),
    "source_partition": pa.int32(), "source_offset": pa.int64(), "ingested_at": pa.timestamp("us"),
    "load_id": pa.string(), "property_keys": pa.list_(pa.string()), "property_values": pa.list_(pa.string()),
}


def settings(**overrides) -> Settings:
    """Settings from the defaults and the overrides only: no config file, no environment."""
    return Settings(**overrides)


def warehouse(tmp_path: Path, name: str = "warehouse.duckdb") -> duckdb.DuckDBPyConnection:
    """A connection to a fresh DuckDB file under tmp_path, configured like the real writer's."""
    return gateway.configure(duckdb.connect(str(tmp_path / name)), settings())


def _time(value) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


def _row(spec, number: int, previous_at: dt.datetime | None, every: dt.timedelta) -> dict:
    if isinstance(spec, str):
        words = spec.split()
        if len(words) not in (2, 3):
            raise ValueError(f"expected 'channel event_type [revenue]', got {spec!r}")
        spec = {"channel": words[0], "event_type": words[1], **({"revenue": float(words[2])} if len(words) == 3 else {})}
    row = dict(spec)
    properties = row.pop("properties", None) or {}
    if not any(name in row for name in IDENTIFIERS):
        row["customer_id"] = "c1"
    row.setdefault("event_id", f"e{number}")
    row["occurred_at"] = _time(row.get("occurred_at")) or (START if previous_at is None else previous_at + every)
    row.setdefault("channel", "web")
    row.setdefault("event_type", "page_view")
    if row.get("revenue") is not None:
        row.setdefault("currency", "EUR")
    row["received_at"] = _time(row.get("received_at", row["occurred_at"]))
    row["ingested_at"] = _time(row.get("ingested_at")) or row["received_at"] or row["occurred_at"]
    row.setdefault("source_topic", f"touchpoints.{row['channel']}")
    row.setdefault("source_partition", 0)
    row.setdefault("source_offset", number)
    row.setdefault("load_id", "test")
    row["property_keys"] = list(properties)
    row["property_values"] = [str(v) for v in properties.values()]
    unknown = set(row) - set(_COLUMNS)
    if unknown:
        raise ValueError(f"not raw.touchpoints columns: {sorted(unknown)}")
    return row


def events(con: duckdb.DuckDBPyConnection, specs, *, every: dt.timedelta = HOUR) -> list[str]:
    """Append touchpoints to raw.touchpoints (creating the raw tables first); returns their event_ids."""
    create_raw_tables(con)
    already = con.execute("select count(*) from raw.touchpoints").fetchall()[0][0]
    previous = con.execute("select max(occurred_at) from raw.touchpoints").fetchall()[0][0]
    rows = []
    for number, spec in enumerate(specs, start=already + 1):
        rows.append(_row(spec, number, previous, every))
        previous = rows[-1]["occurred_at"]
    table = pa.table({name: pa.array([r.get(name) for r in rows], type) for name, type in _COLUMNS.items()})
    con.register("_test_events", table)
    try:
        con.execute(
            """
            insert into raw.touchpoints by name
            select * exclude (property_keys, property_values), map(property_keys, property_values) as properties
            from _test_events
            """
        )
    finally:
        con.unregister("_test_events")
    return [r["event_id"] for r in rows]


JOURNEY_MARTS = ("marts.journeys", "marts.journey_steps", "marts.persons", "marts.identity_map",
                 "marts.identity_conflicts", "marts.stage_model", "marts.stages")
"""The journey model's marts: with what they read, the tables `build` makes."""


def build(con: duckdb.DuckDBPyConnection, **overrides) -> dict[str, int]:
    """Build every journey-model table from raw.touchpoints; overrides are Settings fields."""
    return build_with(con, settings(**overrides))


def build_with(con: duckdb.DuckDBPyConnection, custom: Settings) -> dict[str, int]:
    return build_plan.build(con, custom, journey_tables())


def rows(con: duckdb.DuckDBPyConnection, sql: str, params=None) -> list[dict]:
    """Query results as dicts, column name to value."""
    result = con.execute(sql, params or [])
    names = [d[0] for d in result.description]
    return [dict(zip(names, values)) for values in result.fetchall()]


def file_rows(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    """`sql` (with `params`) on a DuckDB file opened read-only just for it (closed again, so writers
    are not held up)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def raw_part_rows(settings: Settings, sql: str, table: str = "touchpoints") -> list[tuple]:
    """`sql` over the published raw Parquet parts of `table`, which it names `parts` (no parts: no rows)."""
    folder = settings.published_dir / "raw" / table
    if not any(folder.glob("*.parquet")):
        return []
    con = duckdb.connect()
    try:
        con.execute(f"create view parts as select * from read_parquet('{folder}/*.parquet')")
        return con.execute(sql).fetchall()
    finally:
        con.close()


def rows_differing_from_raw_parts(settings: Settings, table: str = "touchpoints") -> int:
    """Rows in the working raw `table` and not in its published Parquet parts, plus the reverse
    (as multisets: a row published twice counts)."""
    folder = settings.published_dir / "raw" / table
    con = duckdb.connect()
    try:
        con.execute(f"attach '{settings.warehouse_path}' as working (read_only)")
        con.execute(f"create view parts as select * from read_parquet('{folder}/*.parquet')")
        return con.execute(f"""select (select count(*) from (from parts except all from working.raw.{table}))
                                    + (select count(*) from (from working.raw.{table} except all from parts))""").fetchall()[0][0]
    finally:
        con.close()


def one(con: duckdb.DuckDBPyConnection, sql: str, params=None) -> dict:
    found = rows(con, sql, params)
    assert len(found) == 1, f"expected one row, got {len(found)}: {found}"
    return found[0]


def journey_tables() -> list[str]:
    """Staging, intermediate and the journey marts: the tables `build` makes."""
    return sorted(build_plan.with_upstream(settings(), JOURNEY_MARTS))


def materialize_tables(home: Path, tables, as_of: str | None = None, extra=()):
    """A real Dagster materialize (ephemeral instance) of the assets of `tables`, with their checks,
    as `journeys build` runs them; `extra` adds assets (e.g. a publish step) and selects them."""
    from dagster import AssetKey, AssetSelection, DagsterInstance, materialize

    from journeys.assets.raw import raw_ingest
    from journeys.assets.resources import WarehouseResource
    from journeys.assets.warehouse_assets import warehouse_assets
    from journeys.quality.checks import all_checks
    from journeys.settings import load_settings

    selection = AssetSelection.assets(*(AssetKey(t.split(".")) for t in tables))
    for asset in extra:
        selection |= AssetSelection.assets(asset)
    tables_assets = warehouse_assets(load_settings(home=home)).tables
    return materialize([raw_ingest, *tables_assets, *extra, *all_checks()],
                       selection=selection, raise_on_error=False, instance=DagsterInstance.ephemeral(),
                       resources={"warehouse_resource": WarehouseResource(home=str(home), as_of=as_of)})


def differing_rows(con: duckdb.DuckDBPyConnection, left: str, right: str) -> list[tuple]:
    """Pairs of rows that differ between two relations `con` can read (tables, or `read_parquet(...)`)
    with the same columns: each side's rows in the same order (by every column, doubles rounded to 6
    significant digits, then exact ones to break ties), compared exactly, doubles to a relative 1e-9
    (a sum's last bits depend on the order an engine adds in). A row-count difference is one pair."""
    columns = con.execute(f"describe select * from {left}").fetchall()
    doubles = [i for i, (_, kind, *_) in enumerate(columns) if kind in ("DOUBLE", "FLOAT")]
    order = ", ".join(f'round("{c}", 5 - cast(floor(log10(abs("{c}") + 1e-300)) as int))' if k in ("DOUBLE", "FLOAT")
                      else f'"{c}"' for c, k, *_ in columns)
    # Rows equal in every column but doubles that agree to 6 digits (several touches of one journey
    # and channel, say) would otherwise pair up in any order: the exact doubles break the tie.
    order += "".join(f', "{c}"' for c, k, *_ in columns if k in ("DOUBLE", "FLOAT"))
    sides = [con.execute(f"select * from {side} order by {order}").fetchall() for side in (left, right)]
    if len(sides[0]) != len(sides[1]):
        return [("row count", len(sides[0]), len(sides[1]))]

    def same(a: tuple, b: tuple) -> bool:
        return all(x == y or (i in doubles and x is not None and y is not None
                              and (x == pytest.approx(y, rel=1e-9, abs=1e-12) or x != x and y != y))
                   for i, (x, y) in enumerate(zip(a, b)))

    return [(a, b) for a, b in zip(*sides) if not same(a, b)]

