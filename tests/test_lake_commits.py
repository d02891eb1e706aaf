"""The lake's commit protocol (pipelines/lake.py) under the faults it exists for: a writer killed
between its commit and its renames, two writers committing the same step, and files a killed
writer left uncommitted. Real processes, real kill -9, real files."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
import time

import duckdb
import pyarrow as pa
import pytest

from journeys.pipelines import lake
from journeys.pipelines.lake_writer import LakeWriter
from journeys.pipelines.raw_writer import INCOMING_SCHEMA
from journeys.settings import Settings

TOPIC = "touchpoints.web"


def chunk(first_offset: int, n: int) -> pa.Table:
    at = dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC)
    return pa.Table.from_pylist([
        {"event_id": f"e{offset}", "occurred_at": at + dt.timedelta(hours=offset), "channel": "web",
         "event_type": "page_view", "customer_id": "c1", "properties": {}, "source_topic": TOPIC,
         "source_partition": 0, "source_offset": offset, "payload": b"x"}
        for offset in range(first_offset, first_offset + n)], schema=INCOMING_SCHEMA)


def lake_event_ids(settings: Settings) -> list[str]:
    return [row[0] for row in duckdb.connect().execute(
        f"select event_id from ({lake.touchpoints_sql(settings.lake_path)}) order by source_offset").fetchall()]


def test_a_writer_killed_after_its_commit_is_rolled_forward_by_the_next_owner(tmp_path):
    """The first writer commits offsets 0-29 (30 events over two days), then is killed at the exact
    point between the commit record and the renames. Nothing of it is visible yet; the next owner's
    recovery puts every file in place, and it resumes at offset 30."""
    settings = Settings(home=tmp_path / "home")
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(os.getcwd())!r})
        from journeys.pipelines import lake
        from journeys.pipelines.lake_writer import LakeWriter
        from journeys.settings import Settings
        from tests.test_lake_commits import TOPIC, chunk
        lake.SourceLog._roll_forward = lambda self, commit: os.kill(os.getpid(), signal.SIGKILL)
        writer = LakeWriter(Settings(home={str(settings.home)!r}))
        writer.adopt(TOPIC, 0)
        writer.write_chunk(chunk(0, 30), [], {{(TOPIC, 0): (30, "digest-of-29")}})
    """)
    killed = subprocess.run([sys.executable, "-c", script], cwd=os.getcwd(), capture_output=True)
    assert killed.returncode == -9, killed.stderr.decode()
    assert not (settings.lake_path / lake.TOUCHPOINTS_DIR).exists(), "nothing in place before the roll-forward"

    writer = LakeWriter(settings)
    last = writer.adopt(TOPIC, 0)
    assert (last.seq, last.first_offset, last.next_offset, last.last_message_digest) == (1, 0, 30, "digest-of-29")
    assert lake_event_ids(settings) == [f"e{i}" for i in range(30)]
    writer.write_chunk(chunk(30, 5), [], {(TOPIC, 0): (35, "digest-of-34")})
    assert lake_event_ids(settings) == [f"e{i}" for i in range(35)]
    assert not list((settings.lake_path / lake.INCOMING_DIR).glob("*/*"))


def test_of_two_writers_that_own_a_partition_only_one_commits_each_step(tmp_path):
    """A consumer that lost the group without noticing, and its successor: both resume from the
    same commit. The first to commit wins; the other is fenced and leaves nothing behind."""
    settings = Settings(home=tmp_path / "home")
    zombie, successor = LakeWriter(settings), LakeWriter(settings)
    zombie.adopt(TOPIC, 0)
    successor.adopt(TOPIC, 0)
    successor.write_chunk(chunk(0, 10), [], {(TOPIC, 0): (10, "d9")})
    fenced = zombie.write_chunk(chunk(0, 12), [], {(TOPIC, 0): (12, "d11")})
    assert fenced.n_loaded == 0 and zombie.fenced.get_nowait() == (TOPIC, 0)
    with pytest.raises(lake.LakeFenced, match="committed by another writer"):  # the commit itself refuses
        source_log = lake.SourceLog(settings.lake_path, lake.source_name(TOPIC, 0))
        source_log.commit(lake.Commit(1, 0, 5, None, "late", 0, 0))
    assert lake_event_ids(settings) == [f"e{i}" for i in range(10)]
    assert not list((settings.lake_path / lake.INCOMING_DIR).glob("*/*")), "the fenced writer's files are gone"


def test_uncommitted_files_are_removed_once_they_cannot_commit_or_are_old(tmp_path):
    settings = Settings(home=tmp_path / "home", lake_orphan_age_s=60)
    writer = LakeWriter(settings)
    writer.adopt(TOPIC, 0)
    writer.write_chunk(chunk(0, 3), [], {(TOPIC, 0): (3, "d2")})  # step 1 committed
    source_log = lake.SourceLog(settings.lake_path, lake.source_name(TOPIC, 0))
    taken = source_log.new_incoming_dir(1)           # lost the race for step 1: can never commit
    in_flight = source_log.new_incoming_dir(2)       # a live writer's next step, seconds old
    abandoned = source_log.new_incoming_dir(2)       # a killed writer's, two hours old
    for folder in (taken, in_flight, abandoned):
        (folder / "part.parquet").write_bytes(b"not yet committed")
    two_hours_ago = time.time() - 7200
    os.utime(abandoned, (two_hours_ago, two_hours_ago))
    source_log.recover(settings.lake_orphan_age_s)
    assert (taken.exists(), in_flight.exists(), abandoned.exists()) == (False, True, False)
    assert lake_event_ids(settings) == ["e0", "e1", "e2"]


def test_a_load_killed_while_renaming_is_completed_by_the_next_writer(tmp_path):
    """`journeys load` killed after its commit, between two renames: part of the load in place,
    the rest waiting. A load has no owner to take it over, so the next writer of the lake (here
    another load) puts the rest in place: every row once, none lost."""
    home = tmp_path / "home"
    events = tmp_path / "in.jsonl"
    events.write_text("".join(
        f'{{"event_id": "e{i}", "occurred_at": "2025-01-0{1 + i % 3}T10:00:00Z", "channel": "{["web", "store"][i % 2]}", '
        f'"event_type": "page_view", "customer_id": "c1"}}\n' for i in range(12)))
    script = textwrap.dedent(f"""
        import os, pathlib, signal, sys
        sys.path.insert(0, {str(os.getcwd())!r})
        from journeys.pipelines import lake
        from journeys.pipelines.loader import load_file
        from journeys.settings import Settings
        real, renames = os.replace, []
        def replace(source, target):
            real(source, target)
            renames.append(target)
            if len(renames) == 2:
                os.kill(os.getpid(), signal.SIGKILL)
        lake.os.replace = replace
        load_file(Settings(home={str(home)!r}, engine="spark"), pathlib.Path({str(events)!r}))
    """)
    killed = subprocess.run([sys.executable, "-c", script], cwd=os.getcwd(), capture_output=True)
    assert killed.returncode == -9, killed.stderr.decode()
    settings = Settings(home=home, engine="spark")
    assert 0 < len(lake_event_ids(settings)) < 12, "the kill left the load half in place"
    LakeWriter(settings).close()  # any writer that opens the lake next
    assert sorted(lake_event_ids(settings)) == sorted(f"e{i}" for i in range(12))
    assert not list((settings.lake_path / lake.INCOMING_DIR).rglob("*.parquet"))


def test_a_fenced_owner_takes_the_partition_over_again_and_commits_no_stale_chunk(tmp_path):
    """The other writer committed first: the fenced one skips that partition (reported in `fenced`),
    and a chunk it had read before taking the partition over again is not committed after it."""
    settings = Settings(home=tmp_path / "home")
    other, owner = LakeWriter(settings), LakeWriter(settings)
    other.adopt(TOPIC, 0)
    owner.adopt(TOPIC, 0, epoch=1)
    other.write_chunk(chunk(0, 10), [], {(TOPIC, 0): (10, "d9")})
    result = owner.write_chunk(chunk(0, 12), [], {(TOPIC, 0): (12, "d11")}, epochs={(TOPIC, 0): 1})
    assert result.n_loaded == 0 and owner.fenced.get_nowait() == (TOPIC, 0)
    # a chunk read in epoch 1 (before the take-over) arrives late: not committed
    owner.write_chunk(chunk(12, 3), [], {(TOPIC, 0): (15, "d14")}, epochs={(TOPIC, 0): 1})
    assert lake_event_ids(settings) == [f"e{i}" for i in range(10)]
    last = owner.adopt(TOPIC, 0, epoch=2)  # taken over again, at the other writer's commit
    assert last.next_offset == 10
    owner.write_chunk(chunk(10, 5), [], {(TOPIC, 0): (15, "d14")}, epochs={(TOPIC, 0): 2})
    assert lake_event_ids(settings) == [f"e{i}" for i in range(15)]
