"""Replay (`journeys produce --file`) and bulk load (`journeys load --file`) with renamed columns."""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pytest

from journeys.cli import main
from journeys.pipelines.file_source import SourceFileError, parse_renames
from journeys.pipelines.ingest import Ingester
from journeys.pipelines.loader import load_file
from journeys.schemas.contract import hash_email

ROWS = [
    # id, ts, chan, type, cust, email, amount, extra
    ("a1", "2025-01-01T10:00:00Z", "web", "page_view", "c1", "Ann@Example.com", None, "x"),
    (None, "2025-01-01 11:00:00", "store", "purchase", "c1", None, 12.5, None),
    ("a3", "yesterday-ish", "web", "page_view", "c2", None, None, None),
    ("a4", "2025-01-01T10:00:00+01:00", "fax", "page_view", "c2", None, None, None),
]
RENAMES = ["id=event_id", "ts=occurred_at", "chan=channel", "type=event_type", "cust=customer_id", "amount=revenue"]


def write_file(path, kind):
    frame = pd.DataFrame(ROWS, columns=["id", "ts", "chan", "type", "cust", "email", "amount", "utm_extra"])
    if kind == "csv":
        frame.to_csv(path, index=False)
    elif kind == "parquet":
        frame.to_parquet(path, index=False)
    else:
        path.write_text("\n".join(json.dumps({k: v for k, v in row.items() if v == v}) for row in frame.to_dict("records")))
    return path


@pytest.mark.parametrize("kind", ["csv", "parquet", "jsonl"])
def test_bulk_load_renames_validates_and_dead_letters(settings, tmp_path, kind):
    """4 rows: 2 loaded, 1 unparseable time and 1 unknown channel dead-lettered."""
    path = write_file(tmp_path / f"history.{kind}", kind)
    result = load_file(settings, path, parse_renames(RENAMES))
    assert (result.n_consumed, result.n_loaded, result.n_dead_lettered) == (4, 2, 2)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    rows = con.execute("select event_id, channel, email_hash, revenue, properties from raw.touchpoints "
                       "order by occurred_at").fetchall()
    assert rows[0] == ("a1", "web", hash_email("ann@example.com"), None, {"utm_extra": "x"})
    assert rows[1][0].startswith("gen-") and rows[1][1:4] == ("store", None, 12.5)
    reasons = [r[0] for r in con.execute("select reason from raw.dead_letters order by source_offset").fetchall()]
    assert reasons == ["occurred_at 'yesterday-ish' is not a timestamp", "unknown channel 'fax'"]
    # the raw e-mail address is nowhere, not even in the dead letters' copy of the row
    assert b"Ann@Example" not in settings.warehouse_path.read_bytes()


def test_generated_event_ids_are_deterministic(settings, tmp_path):
    """Loading the same file twice gives the row without an id the same generated id."""
    path = write_file(tmp_path / "h.csv", "csv")
    load_file(settings, path, parse_renames(RENAMES))
    load_file(settings, path, parse_renames(RENAMES))
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    assert con.execute("select count(distinct event_id), count(*) from raw.touchpoints").fetchone() == (2, 4)


def test_a_rename_to_an_unknown_column_is_a_clear_error():
    with pytest.raises(SourceFileError, match="not a contract column"):
        parse_renames(["ts=occurred"])


@pytest.mark.slow
def test_replay_through_kafka_matches_bulk_load(broker, settings, tmp_path, monkeypatch):
    """`journeys produce --file` then ingest gives the same rows and dead letters as a bulk load."""
    path = write_file(tmp_path / "h.parquet", "parquet")
    monkeypatch.setenv("JOURNEYS_HOME", str(settings.home))
    assert main(["produce", "--file", str(path), *sum((["--map", m] for m in RENAMES), [])]) == 0
    report = Ingester(settings).run(once=True)
    assert (report.n_consumed, report.n_loaded, report.n_dead_lettered) == (4, 2, 2)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    assert sorted(r[0][:4] for r in con.execute("select event_id from raw.touchpoints").fetchall()) == ["a1", "gen-"]
    reasons = sorted(r[0] for r in con.execute("select reason from raw.dead_letters").fetchall())
    assert reasons == ["rejected by producer: occurred_at 'yesterday-ish' is not a timestamp",
                       "rejected by producer: unknown channel 'fax'"]
