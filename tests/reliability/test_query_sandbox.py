"""`journeys query` is read-only by the engine: no statement, however wrapped, writes a file, reads one
outside the published warehouse, or turns the protections off."""

from __future__ import annotations

import hashlib

import duckdb
import pytest

from journeys import warehouse
from journeys.cli import main as journeys_main
from journeys.query import WriteRefusedError, run_query
from journeys.settings import load_settings


@pytest.fixture
def published(tmp_path, monkeypatch):
    """A published file holding one mart, and a secret DuckDB file and CSV beside it."""
    settings = load_settings(home=tmp_path / "home")
    settings.published_dir.mkdir(parents=True)
    con = duckdb.connect(str(settings.published_path))
    con.execute("create schema marts; create table marts.journeys as select range as journey_id from range(3)")
    con.close()
    con = duckdb.connect(str(tmp_path / "secret.duckdb"))
    con.execute("create table secret as select 42 as answer")
    con.close()
    (tmp_path / "secret.csv").write_text("answer\n42\n")
    (settings.published_dir / "warehouse.duckdb.tmp").mkdir()  # as a spilling reader would have left it
    monkeypatch.setenv("JOURNEYS_HOME", str(settings.home))
    monkeypatch.chdir(tmp_path)
    return settings


def escapes(home, tmp):
    pub = home / "published" / "warehouse.duckdb"
    return [
        f"explain analyze copy (select 1) to '{pub}' (format csv)",
        f"explain copy (select 1) to '{tmp}/leak.csv'",
        f"copy (select 1) to '{tmp}/leak.csv'",
        f"copy marts.journeys to '{tmp}/leak.parquet' (format parquet)",
        f"export database '{tmp}/leak_export'",
        f"import database '{tmp}'",
        f"attach '{tmp}/secret.duckdb' as s",
        f"attach '{tmp}/leak.duckdb' as l",
        f"set log_query_path = '{tmp}/leak.log'",
        f"pragma profiling_output = '{tmp}/leak.json'",
        "pragma enable_profiling",
        "set enable_external_access = true",
        "set lock_configuration = false",
        "reset lock_configuration",
        "set threads = 64",
        f"set temp_directory = '{tmp}/leak_tmp'",
        f"select * from read_csv('{tmp}/secret.csv')",
        f"select * from '{tmp}/secret.csv'",
        f"select * from '{tmp}/secret.duckdb'",
        "select * from read_text('/etc/hostname')",
        "select * from read_blob('/etc/hostname')",
        "select * from glob('/etc/*')",
        "install httpfs",
        "load httpfs",
        "create table marts.mine as select 1",
        "select 1; drop table marts.journeys",
        "call pragma_version(); create macro m() as 1",
        # DuckDB allows writing into its own temp directory; a reader has none (see the fixture)
        f"explain analyze copy (select 1) to '{home}/published/warehouse.duckdb.tmp/leak.csv'",
    ]


def test_every_escape_is_refused_by_the_engine_even_without_the_statement_check(published, tmp_path):
    """Straight through warehouse.reader, with no statement filtering: DuckDB refuses each one."""
    before = hashlib.sha256(published.published_path.read_bytes()).hexdigest()
    allowed = []
    for sql in escapes(published.home, tmp_path):
        con = warehouse.reader(published)
        try:
            for statement in con.extract_statements(sql):
                con.execute(statement)
            allowed.append(sql)
        except duckdb.Error:
            pass
        finally:
            con.close()
    assert allowed == []
    assert hashlib.sha256(published.published_path.read_bytes()).hexdigest() == before
    leaks = sorted(p.name for p in [*tmp_path.iterdir(), *(published.published_dir / "warehouse.duckdb.tmp").iterdir()]
                   if p.name.startswith("leak"))
    assert leaks == []


@pytest.mark.parametrize("index", range(28))
def test_journeys_query_refuses_each_escape_with_exit_code_2(published, tmp_path, capsys, index):
    """The command says 'refused' in one line and exits 2; the published file is unchanged."""
    sql = escapes(published.home, tmp_path)[index]
    before = hashlib.sha256(published.published_path.read_bytes()).hexdigest()
    code = journeys_main(["query", sql])
    err = capsys.readouterr().err
    assert code == 2, (sql, err)
    assert "refused" in err and len(err.strip().splitlines()) == 1
    assert hashlib.sha256(published.published_path.read_bytes()).hexdigest() == before
    assert not any(p.name.startswith("leak") for p in tmp_path.iterdir())


def test_reading_still_works_and_settings_stay_locked(published):
    """Ordinary reads work; the session's safety settings read back as set."""
    assert run_query(published, "select count(*) as n from marts.journeys")["n"].tolist() == [3]
    frame = run_query(published, "select name, value from duckdb_settings() where name in "
                                 "('enable_external_access', 'lock_configuration', 'autoload_known_extensions') order by name")
    assert dict(zip(frame["name"], frame["value"])) == {
        "autoload_known_extensions": "false", "enable_external_access": "false", "lock_configuration": "true"}
    with pytest.raises(WriteRefusedError):
        run_query(published, "select 1; set lock_configuration = false; copy (select 1) to 'x.csv'")
