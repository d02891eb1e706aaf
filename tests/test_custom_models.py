"""Your own dbt models, as the README says: a `.sql` (and optional `.yml`) in custom_models_dir is
built into the schema `custom` by `journeys build`, checked, published and queryable; a broken one
fails the build naming its file and leaves the last good build published."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

pytestmark = pytest.mark.slow

CHANNEL_MIX_SQL = """
-- touchpoints per channel, over every journey
select channel, count(*) as n_touchpoints
from {{ ref('journey_steps') }}
group by channel
"""

CHANNEL_MIX_YML = """
version: 2
models:
  - name: channel_mix
    description: One row per channel, with the touchpoints seen on it.
    columns:
      - name: channel
        description: the touchpoint channel
        data_tests: [unique, not_null]
      - name: n_touchpoints
        description: touchpoints on that channel
"""


def journeys(home, models, *argv):
    env = {**os.environ, "JOURNEYS_HOME": str(home), "JOURNEYS_CUSTOM_MODELS_DIR": str(models)}
    env.pop("JOURNEYS_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "journeys.cli", *argv], capture_output=True, text=True, env=env)


@pytest.fixture
def loaded(tmp_path):
    """Four touchpoints of two customers loaded into a fresh home: c1 web page_view and purchase,
    c2 an email open then a web page_view (3 web, 1 email)."""
    home, models = tmp_path / "home", tmp_path / "my_models"
    models.mkdir()
    pd.DataFrame({
        "event_id": ["a", "b", "c", "d"],
        "occurred_at": ["2025-03-01 10:00:00", "2025-03-01 11:00:00", "2025-03-02 09:00:00", "2025-03-02 09:30:00"],
        "channel": ["web", "web", "email", "web"],
        "event_type": ["page_view", "purchase", "email_open", "page_view"],
        "customer_id": ["c1", "c1", "c2", "c2"],
        "revenue": [None, 20.0, None, None], "currency": [None, "EUR", None, None],
    }).to_csv(tmp_path / "events.csv", index=False)
    assert journeys(home, models, "load", "--file", str(tmp_path / "events.csv")).returncode == 0
    return home, models


def test_a_custom_model_builds_publishes_and_is_queryable(loaded):
    home, models = loaded
    (models / "channel_mix.sql").write_text(CHANNEL_MIX_SQL)
    (models / "channel_mix.yml").write_text(CHANNEL_MIX_YML)
    built = journeys(home, models, "build")
    assert built.returncode == 0, built.stdout + built.stderr
    assert "custom.channel_mix: 2 rows" in built.stdout
    queried = journeys(home, models, "query", "select * from custom.channel_mix order by channel", "--format", "json")
    assert queried.returncode == 0, queried.stderr
    assert json.loads(queried.stdout) == [{"channel": "email", "n_touchpoints": 1}, {"channel": "web", "n_touchpoints": 3}]
    listed = journeys(home, models, "tables")
    assert "custom.channel_mix" in listed.stdout
    assert "One row per channel, with the touchpoints seen on it." in listed.stdout


def test_a_broken_custom_model_fails_the_build_naming_its_file_and_keeps_the_last_good_build(loaded):
    home, models = loaded
    (models / "channel_mix.sql").write_text(CHANNEL_MIX_SQL)
    assert journeys(home, models, "build").returncode == 0
    published = (home / "published" / "warehouse.duckdb").resolve().read_bytes()

    broken = models / "channel_mix.sql"
    broken.write_text("select no_such_column from {{ ref('journeys') }}")
    failed = journeys(home, models, "build")
    assert failed.returncode == 1
    out = failed.stdout + failed.stderr
    assert str(broken) in out and "no_such_column" in out
    assert "Traceback" not in out
    assert (home / "published" / "warehouse.duckdb").resolve().read_bytes() == published

    broken.write_text("select {{ ref('journeys' }}")  # a template that does not parse
    failed = journeys(home, models, "build")
    assert failed.returncode == 1
    assert str(broken) in failed.stderr and "Traceback" not in failed.stderr
    assert (home / "published" / "warehouse.duckdb").resolve().read_bytes() == published


def test_custom_models_cannot_replace_ours(loaded):
    """A custom model in a folder named marts still lands in `custom`; one named like ours is refused."""
    home, models = loaded
    (models / "marts").mkdir()
    (models / "marts" / "my_journeys.sql").write_text("select count(*) as n from {{ ref('journeys') }}")
    built = journeys(home, models, "build")
    assert built.returncode == 0, built.stdout + built.stderr
    assert "custom.my_journeys: 1 rows" in built.stdout
    queried = journeys(home, models, "query", "select n from custom.my_journeys", "--format", "json")
    assert json.loads(queried.stdout) == [{"n": 2}]

    (models / "journeys.sql").write_text("select 1 as x")
    refused = journeys(home, models, "build")
    assert refused.returncode == 1
    assert "two models with the name \"journeys\"" in refused.stderr
    assert str(models / "journeys.sql") in refused.stderr
