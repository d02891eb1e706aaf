"""The README's Superset recipe, tried with Superset itself: Superset 6.1 in a venv of its own with
the packages the README names, the published warehouse added with the README's SQLAlchemy URI
through the REST API Superset's own pages call (tests/superset_check.py), and what it shows
compared with what the published file holds, read here with DuckDB."""

from __future__ import annotations

import json
import subprocess

import duckdb
import pytest

from tests.helpers import file_rows
from tests.venvs import venv_python

pytestmark = pytest.mark.slow

SUPERSET = ["apache-superset==6.1.0", "rich", "Flask-Caching<2.4", "cachetools",  # Superset 6.1's packaging misses these
            "duckdb-engine==0.17.0", f"duckdb=={duckdb.__version__}"]
"""What the README tells a user to install into Superset's environment (Superset pins SQLAlchemy 1.4)."""


@pytest.fixture(scope="module")
def shown(bi_sample, tmp_path_factory):
    """(what Superset showed, the published file's link)."""
    python = venv_python(tmp_path_factory.mktemp("superset-venv") / "venv", SUPERSET, timeout_s=1200)
    uri = f"duckdb:///{bi_sample.published_path}?access_mode=read_only"  # the link, not the file it points at
    done = subprocess.run([str(python), "tests/superset_check.py", str(tmp_path_factory.mktemp("superset-home")), uri],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-5000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), bi_sample.published_path


def test_superset_connects_and_lists_every_mart_with_its_comments(shown):
    seen, published = shown
    assert seen["test_connection"] == [200, "OK"]
    assert {"warehouse.marts", "warehouse.staging", "warehouse.raw"} <= set(seen["schemas"])
    assert seen["marts"] == sorted(t for (t,) in file_rows(
        published, "select table_name from duckdb_tables() where schema_name = 'marts'"))
    for table in ("journey_map", "journeys"):
        (comment,), = file_rows(published, "select comment from duckdb_tables() where schema_name = 'marts' "
                                           "and table_name = ?", [table])
        columns = dict(file_rows(published, "select column_name, comment from duckdb_columns() "
                                            "where schema_name = 'marts' and table_name = ?", [table]))
        assert seen[table]["comment"] == comment and len(comment) > 40
        assert {name: shown_comment for name, (_, shown_comment) in seen[table]["columns"].items()} == columns
    # the list column is a type Superset does not know; its text rendering is a plain string
    assert seen["journeys"]["columns"]["channels"][0] == "NULL"
    assert seen["journeys"]["columns"]["channels_text"][0] == "VARCHAR"


def test_a_superset_dataset_carries_the_column_descriptions_not_the_table_comment(shown):
    """What the README tells users: the column comments become the dataset's column descriptions; the
    table comment shows in SQL Lab's table preview but is not copied into the dataset."""
    seen, published = shown
    columns = dict(file_rows(published, "select column_name, comment from duckdb_columns() "
                                        "where schema_name = 'marts' and table_name = 'journeys'"))
    assert {name: description for name, (_, description) in seen["dataset"]["columns"].items()} == columns
    assert seen["dataset"]["description"] is None


def test_sql_lab_queries_and_every_write_is_refused(shown):
    seen, published = shown
    (n_journeys,), = file_rows(published, "select count(*) from marts.journeys")
    assert seen["query"] == {"data": [{"n": n_journeys}]} and n_journeys > 0
    assert seen["write"]["errors"] == ["DML_NOT_ALLOWED_ERROR"]
    # with DML allowed in Superset, DuckDB refuses: the URI opens the file read-only
    assert any("read-only" in message for message in seen["write_with_dml_allowed"]["messages"]), seen
    assert file_rows(published, "select count(*) from duckdb_tables() where table_name = 'written'") == [(0,)]
