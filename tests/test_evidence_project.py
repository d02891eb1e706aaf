"""The Evidence project (bi/evidence) against a real published warehouse, as far as this machine can
take it. `npm run sources` cannot finish here: Evidence's DuckDB-Wasm (1.32) loads its parquet
extension from extensions.duckdb.org at run time, in Node and in the browser, and this machine
reaches no host but the package registries (README "Evidence"). So these tests check what Evidence's
build would check, with real DuckDB:

- every source query (sources/journeys/*.sql) runs on the published file opened read-only by the
  older DuckDB BI connectors embed (1.1.3; Evidence's connector has 1.4.2), gives rows, and gives
  only the column types Evidence maps (numbers, strings, booleans, dates: no lists or structs);
- every page query (pages/*.md, ```sql name blocks) runs on those sources' results, for every value
  its inputs offer, with `${query}` references inlined as Evidence does, and gives rows unless each
  chart of it says what to show when empty (emptySet=pass);
- every component names a query that exists, and columns that query returns;
- the connection's relative filename, joined to sources/journeys/ as the connector joins it, is the
  default home's published link.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import textwrap
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.slow

PROJECT = Path(__file__).resolve().parent.parent / "bi" / "evidence"
SOURCE = PROJECT / "sources" / "journeys"

RUN_SOURCES = textwrap.dedent("""
    import json, sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    out = {}
    for name, sql in json.loads(sys.argv[2]).items():
        rel = con.sql(sql)
        out[name] = {"columns": rel.columns, "types": [str(t) for t in rel.types], "rows": len(rel.fetchall())}
    print(json.dumps(out))
""")

EVIDENCE_TYPES = re.compile(r"^(BOOLEAN|TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|"
                            r"UBIGINT|FLOAT|DOUBLE|DECIMAL\(\d+,\d+\)|VARCHAR|DATE|TIMESTAMP|"
                            r"TIMESTAMP WITH TIME ZONE)$")
"""The DuckDB types @evidence-dev/duckdb maps to Evidence's number, string, boolean and date."""


def source_queries() -> dict[str, str]:
    return {path.stem: path.read_text(encoding="utf-8") for path in sorted(SOURCE.glob("*.sql"))}


def page_queries(page: str) -> dict[str, str]:
    return dict(re.findall(r"```sql (\w+)\n(.*?)```", page, re.S))


def components(page: str) -> list[tuple[str, str]]:
    """(tag, attributes) of every component tag outside the SQL blocks."""
    markup = re.sub(r"```.*?```", "", page, flags=re.S)
    return re.findall(r"<([A-Z]\w*)\b([^>]*?)/?>", markup, re.S)


def attributes(text: str) -> dict[str, str]:
    return {key: value.strip('"{}') for key, value in re.findall(r"(\w+)=(\"[^\"]*\"|\{[^}]*\}|[^\s/>]+)", text)}


def inline(sql: str, queries: dict[str, str], inputs: dict[str, str]) -> str:
    """Evidence's query chaining (`${other}` is the other query as a subquery) and its input values."""
    sql = re.sub(r"\$\{inputs\.(\w+)\.value\}", lambda m: inputs[m.group(1)], sql)
    return re.sub(r"\$\{(\w+)\}", lambda m: f"({inline(queries[m.group(1)], queries, inputs)})", sql)


def dropdown_options(page: str, queries: dict[str, str], con) -> dict[str, list[str]]:
    """Each Dropdown's values: its DropdownOption children, or its data query's value column."""
    options = {}
    for name, body in re.findall(r"<Dropdown\b([^>]*?)>(.*?)</Dropdown>", page, re.S):
        options[attributes(name)["name"]] = re.findall(r"<DropdownOption value=(\w+)", body)
    for tag, text in components(page):
        found = attributes(text)
        if tag == "Dropdown" and "data" in found:
            sql = inline(queries[found["data"]], queries, {})
            options[found["name"]] = [row[0] for row in con.execute(f"select distinct {found['value']} from ({sql})")
                                      .fetchall()]
    return options


def may_be_empty(page: str) -> set[str]:
    """Queries every component of which says what to show when there is nothing (emptySet=pass)."""
    uses: dict[str, list[bool]] = {}
    for _, text in components(page):
        found = attributes(text)
        if "data" in found:
            uses.setdefault(found["data"], []).append(found.get("emptySet") == "pass")
    return {name for name, passes in uses.items() if all(passes)}


@pytest.fixture(scope="module")
def sources_run(bi_sample, old_reader):
    done = subprocess.run([str(old_reader), "-c", RUN_SOURCES, str(bi_sample.published_path),
                           json.dumps(source_queries())], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def sources_loaded(bi_sample):
    """An in-memory DuckDB with schema `journeys` holding each source query's result, as the pages see them."""
    con = duckdb.connect()
    con.execute("create schema journeys")
    con.execute(f"attach '{bi_sample.published_path}' as published (read_only)")
    con.execute("use published")  # the source queries name marts.<table>, as on the published file
    for name, sql in source_queries().items():
        con.execute(f"create table memory.journeys.{name} as {sql}")
    con.execute("use memory")
    con.execute("detach published")
    yield con
    con.close()


def test_the_connection_path_is_the_default_homes_published_link():
    filename = re.search(r"^\s+filename: (\S+)$", (SOURCE / "connection.yaml").read_text(), re.M).group(1)
    assert not os.path.isabs(filename)  # the connector joins it to the source folder
    resolved = os.path.normpath(os.path.join(SOURCE, filename))
    assert resolved == str(PROJECT.parent.parent / "journeys_home" / "published" / "warehouse.duckdb")


def test_every_source_query_runs_on_the_published_file_with_an_older_duckdb(sources_run):
    assert set(sources_run) == {"attribution", "cohort_retention", "emotion_curve", "journey_map",
                                "published_build", "stage_funnel", "stage_value_at_stake", "weekly_journeys"}
    for name, result in sources_run.items():
        assert result["rows"] > 0, name
        unmapped = [(c, t) for c, t in zip(result["columns"], result["types"]) if not EVIDENCE_TYPES.match(t)]
        assert not unmapped, (name, unmapped)


def pages(con) -> list[tuple[str, str, dict[str, str], dict[str, list[str]]]]:
    """Per page: its name, its text, its queries and its dropdowns' values."""
    found = []
    for path in sorted(PROJECT.glob("pages/*.md")):
        page = path.read_text(encoding="utf-8")
        queries = page_queries(page)
        found.append((path.name, page, queries, dropdown_options(page, queries, con)))
    return found


def test_every_page_query_runs_for_every_input_value(sources_loaded):
    every = pages(sources_loaded)
    assert [name for name, *_ in every] == ["attribution.md", "cohort-retention.md", "index.md", "journey-map.md",
                                            "journey-types.md"]
    for page_name, page, queries, options in every:
        assert all(options.values()), (page_name, options)
        choices = [{}] + [{name: value} for name, values in options.items() for value in values]
        for choice in choices:
            inputs = {name: values[0] for name, values in options.items()} | choice
            for name, sql in queries.items():
                rows = sources_loaded.execute(inline(sql, queries, inputs)).fetchall()
                assert rows or name in may_be_empty(page), (page_name, name, inputs)


def test_every_component_names_a_query_and_its_columns(sources_loaded):
    column_props = ("x", "y", "series", "nameCol", "valueCol", "value", "column", "groupBy")
    for page_name, page, queries, options in pages(sources_loaded):
        inputs = {name: values[0] for name, values in options.items()}
        current = None
        for tag, text in components(page):
            found = attributes(text)
            if "data" in found:
                assert found["data"] in queries, (page_name, tag, found["data"])
                current = set(sources_loaded.execute(inline(queries[found["data"]], queries, inputs)
                                                     + " limit 0").df().columns)
                for prop in column_props:
                    if prop in found:
                        assert found[prop] in current, (page_name, tag, prop, found[prop], sorted(current))
            elif tag == "Column":
                assert found["id"] in current, (page_name, found["id"], sorted(current))
