"""The README's SQLAlchemy recipe (Superset, and any tool that takes a SQLAlchemy URL), tried as a
BI tool's own environment would: a separate venv with duckdb-engine 0.17 and the SQLAlchemy
releases the README names, connecting to the published file with the README's URI. SQLAlchemy's
inspector lists the schemas, tables, columns and their comments, a query runs, a write is refused,
and the text rendering of a list column (marts.journeys.channels_text) is a string type.
SQLAlchemy 2.1 is not in the recipe: duckdb-engine 0.17 cannot list columns with it (its inspector
query joins pg_catalog.pg_collation, which DuckDB does not have)."""

from __future__ import annotations

import json
import subprocess
import textwrap

import duckdb
import pytest

from tests.venvs import venv_python

pytestmark = pytest.mark.slow

RECIPES = {"1.4.54": "sqlalchemy==1.4.54", "2.0": "sqlalchemy>=2.0,<2.1"}
"""SQLAlchemy 1.4 (Superset's) and 2.0, each with duckdb-engine 0.17 and DuckDB 2.0."""

INSPECT = textwrap.dedent("""
    import json, sys, warnings
    import sqlalchemy as sa
    warnings.simplefilter("ignore")  # duckdb-engine warns that it does not know the list type
    engine = sa.create_engine(f"duckdb:///{sys.argv[1]}?access_mode=read_only")
    inspector = sa.inspect(engine)
    out = {"version": sa.__version__, "schemas": inspector.get_schema_names(),
           "marts": sorted(inspector.get_table_names(schema="marts")),
           "columns": {c["name"]: c.get("comment") for c in inspector.get_columns("journey_map", schema="marts")},
           "table_comment": inspector.get_table_comment("journey_map", schema="marts")["text"]}
    journeys = {c["name"]: c["type"] for c in inspector.get_columns("journeys", schema="marts")}
    out["list_types"] = {name: type(journeys[name]).__name__ for name in ("channels", "channels_text")}
    with engine.connect() as con:
        out["rows"] = con.execute(sa.text("select count(*) from marts.journey_map")).scalar()
        out["channels_text"] = con.execute(sa.text(
            "select channels_text from marts.journeys order by journey_id limit 1")).scalar()
        try:
            con.execute(sa.text("create table marts.written as select 1 as x"))
            out["write"] = "accepted"
        except Exception as exc:
            out["write"] = str(exc).splitlines()[0]
    try:
        out["primary_key"] = inspector.get_pk_constraint("journey_map", schema="marts")["constrained_columns"]
    except Exception as exc:
        out["primary_key"] = "error: " + str(exc).splitlines()[0]
    print(json.dumps(out))
""")


@pytest.fixture(scope="module")
def published(bi_sample):
    return bi_sample


@pytest.fixture(scope="module")
def bi_venvs(tmp_path_factory):
    root, made = tmp_path_factory.mktemp("bi-venvs"), {}

    def python_for(version: str):
        if version not in made:
            made[version] = venv_python(root / version, ["duckdb-engine==0.17.0", RECIPES[version],
                                                         f"duckdb=={duckdb.__version__}"])
        return made[version]

    return python_for


@pytest.mark.parametrize("version", list(RECIPES))
def test_the_inspector_lists_tables_columns_and_comments_and_writes_are_refused(published, bi_venvs, version):
    done = subprocess.run([str(bi_venvs(version)), "-c", INSPECT, str(published.published_path.resolve())],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["version"].startswith(version)
    assert "warehouse.marts" in seen["schemas"]  # the same catalog name after every publish
    with duckdb.connect(str(published.published_path), read_only=True) as con:
        marts = sorted(t for (t,) in con.execute("select table_name from duckdb_tables() where schema_name = 'marts'")
                       .fetchall())
        comments = dict(con.execute("select column_name, comment from duckdb_columns() where schema_name = 'marts' "
                                    "and table_name = 'journey_map'").fetchall())
        table_comment, rows = con.execute(
            "select comment, (select count(*) from marts.journey_map) from duckdb_tables() "
            "where schema_name = 'marts' and table_name = 'journey_map'").fetchone()
    assert seen["marts"] == marts
    assert seen["columns"] == comments and all(comments.values())
    assert seen["table_comment"] == table_comment
    assert seen["rows"] == rows > 0
    # A list column is a type SQLAlchemy does not know (NullType: Superset shows "?"); its text rendering
    # is a string, and reads as the list joined with ' > '.
    assert seen["list_types"] == {"channels": "NullType", "channels_text": "String"}
    with duckdb.connect(str(published.published_path), read_only=True) as con:
        first_channels = con.execute("select channels from marts.journeys order by journey_id limit 1").fetchone()[0]
    assert seen["channels_text"] == " > ".join(first_channels)
    assert seen["write"] != "accepted" and "Cannot execute statement" in seen["write"]
    if version == "1.4.54":
        assert seen["primary_key"] == []  # the marts have no declared key: nothing to list, and no error
    else:
        assert seen["primary_key"].startswith("error: ")  # duckdb-engine 0.17's pk query casts to REGCLASS
