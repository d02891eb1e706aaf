"""Writes a simulated population to a Parquet file in constant memory (`journeys simulate --out`).

For backfills and benchmarks: 10 million events go to disk chunk by chunk and then into the
warehouse with `journeys load --file`, without holding them in Python."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from journeys.pipelines.raw_writer import CONTRACT_COLUMNS, INCOMING_SCHEMA

FILE_SCHEMA = pa.schema([INCOMING_SCHEMA.field(name) for name in CONTRACT_COLUMNS])


def write_simulation(path: Path, customers: int, days: int, seed: int, progress: bool = False,
                     chunk_events: int = 200_000) -> int:
    from journeys.pipelines.simulator import iter_events

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n_events = 0
    chunk: list[dict] = []
    with pq.ParquetWriter(path, FILE_SCHEMA) as writer, tqdm(desc="simulate", unit="ev", disable=not progress) as bar:
        for event in iter_events(customers, days, seed):
            chunk.append(event)
            if len(chunk) >= chunk_events:
                writer.write_table(pa.Table.from_pylist(chunk, schema=FILE_SCHEMA))
                n_events += len(chunk)
                bar.update(len(chunk))
                chunk = []
        if chunk:
            writer.write_table(pa.Table.from_pylist(chunk, schema=FILE_SCHEMA))
            n_events += len(chunk)
            bar.update(len(chunk))
    return n_events
