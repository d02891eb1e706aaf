"""`journeys load` accepts a Parquet `properties` column stored as a list of key/value structs (how
pandas and older writers store a map) as the map it is; a repeated key dead-letters only its row."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from journeys.pipelines.loader import load_file

ENTRIES = pa.list_(pa.struct([("key", pa.string()), ("value", pa.string())]))


def test_a_list_of_key_value_structs_loads_as_a_map(settings, tmp_path):
    """3 rows: two maps load (one value redacted as free text), one with a repeated key is a dead letter."""
    path = tmp_path / "props.parquet"
    pq.write_table(pa.table({
        "event_id": ["a", "b", "c"], "occurred_at": ["2025-03-01 10:00:00"] * 3, "channel": ["web"] * 3,
        "event_type": ["page_view"] * 3, "customer_id": ["c1"] * 3,
        "properties": pa.array([[{"key": "persona", "value": "b2c"}],
                                [{"key": "note", "value": "call +44 7700 900123"}],
                                [{"key": "k", "value": "1"}, {"key": "k", "value": "2"}]], ENTRIES),
    }), path)
    result = load_file(settings, path)
    assert (result.n_consumed, result.n_loaded, result.n_dead_lettered) == (3, 2, 1)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    assert con.execute("select event_id, properties from raw.touchpoints order by 1").fetchall() == [
        ("a", {"persona": "b2c"}), ("b", {"note": "call [phone redacted]"})]
    (reason,), = con.execute("select reason from raw.dead_letters").fetchall()
    assert "repeated key" in reason
