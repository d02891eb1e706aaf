"""The models run on DuckDB today and on Spark later: SQL that only one engine understands lives in
the dispatch macros of transforms/macros/engine/, never in a model. The one list of what counts as
DuckDB-only is that folder's README.md: its table of dispatch macros (each with the DuckDB SQL it
holds) and its table of DuckDB spellings replaced by portable ones."""

from __future__ import annotations

import functools
import re

from journeys.settings import Settings
from journeys.transforms import dbt_project

README = dbt_project.PROJECT_DIR / "macros" / "engine" / "README.md"
PACKAGE = "customer_journeys"
NOT_RAISING = {"inline_cte"}  # a planner hint: on other engines it renders a plain `as`, which changes no result


def readme_table(heading: str) -> dict[str, list[str]]:
    """The body rows of the README table under `## heading`: first cell -> the backticked SQL of the second."""
    section = README.read_text().split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in section.splitlines() if line.startswith("|")]
    return {cells[0]: re.findall(r"`([^`]+)`", cells[1]) for cells in rows[2:]}  # after the header and |---|


@functools.cache
def dispatch_macros() -> dict[str, list[str]]:
    """Each dispatch macro's name -> the DuckDB SQL its duckdb__ version holds."""
    return {re.match(r"`(\w+)`", cell).group(1): sql for cell, sql in readme_table("Dispatch macros").items()}


@functools.cache
def replaced_spellings() -> dict[str, list[str]]:
    """What the models write instead -> the DuckDB-only SQL it replaced."""
    return readme_table("DuckDB-only spellings the models no longer use")


def pattern(construct: str) -> re.Pattern:
    """`epoch(` finds a call of epoch, `group by all` the words with any spacing, `{'` the characters."""
    text = r"\s*".join(re.escape(part) for part in construct.replace("(", " ( ").split())
    start = r"\b" if construct[0].isalnum() or construct[0] == "_" else ""
    end = r"\b" if construct[-1].isalnum() or construct[-1] == "_" else ""
    return re.compile(start + text + end, re.IGNORECASE)


def sql_only(raw_code: str) -> str:
    """A model's SQL without Jinja (macro calls included) and without SQL comments."""
    code = re.sub(r"\{#.*?#\}", " ", raw_code, flags=re.DOTALL)
    code = re.sub(r"\{%.*?%\}|\{\{.*?\}\}", " ", code, flags=re.DOTALL)
    code = re.sub(r"/\*.*?\*/", " ", code, flags=re.DOTALL)
    return re.sub(r"--[^\n]*", " ", code)


def duckdb_only(sql: str) -> list[str]:
    """The DuckDB-only constructs in `sql`, each with what to write instead."""
    found = []
    for macro, constructs in dispatch_macros().items():
        found += [f"{c!r} (use {{{{ {macro}(...) }}}})" for c in constructs if pattern(c).search(sql)]
    for spelling, constructs in replaced_spellings().items():
        found += [f"{c!r} (write {spelling})" for c in constructs if pattern(c).search(sql)]
    return found


@functools.cache
def manifest():
    return dbt_project.manifest(Settings())


def test_the_check_finds_duckdb_sql_outside_jinja_and_comments():
    """A bare epoch() or QUALIFY is found; the same words in a macro call or a comment are not."""
    assert duckdb_only(sql_only("select epoch(a) - epoch(b) from t qualify row_number() over () = 1")) == [
        "'epoch(' (write `{{ seconds_between(a, b) }}`)",
        "'qualify' (write a subquery computing the window value, then `where`)",
    ]
    assert duckdb_only(sql_only("select {{ seconds_between('a', 'b') }} -- not epoch(a)\nfrom t")) == []
    assert duckdb_only(sql_only("select x from a union all by name select x from b")) != []


def test_no_model_uses_duckdb_only_sql():
    """Every model's SQL, outside Jinja and comments, is free of the README's DuckDB-only constructs."""
    models = [node for node in manifest().nodes.values() if node.resource_type == "model"]
    assert len(models) >= 27
    found = {node.original_file_path: duckdb_only(sql_only(node.raw_code)) for node in models}
    assert {path: hits for path, hits in found.items() if hits} == {}


def test_each_listed_macro_dispatches_and_its_duckdb_version_holds_what_it_replaces():
    """Each README macro dispatches through adapter.dispatch; duckdb__ contains every construct listed
    for it, spark__ has Spark's version (tests/test_spark_build.py runs them), and default__ stops
    the compile on engines without their own version."""
    macros = manifest().macros
    for name, constructs in dispatch_macros().items():
        dispatcher = macros[f"macro.{PACKAGE}.{name}"].macro_sql
        assert f"adapter.dispatch('{name}', '{PACKAGE}')" in dispatcher, name
        duckdb_sql = macros[f"macro.{PACKAGE}.duckdb__{name}"].macro_sql
        assert [c for c in constructs if not pattern(c).search(duckdb_sql)] == [], name
        assert f"macro.{PACKAGE}.spark__{name}" in macros or name in NOT_RAISING, name
        default_sql = macros[f"macro.{PACKAGE}.default__{name}"].macro_sql
        assert ("raise_compiler_error" in default_sql) == (name not in NOT_RAISING), name


def test_every_engine_macro_is_in_the_readme():
    """The README's macro table is complete: every macro defined under macros/engine/ is in it."""
    defined = {
        macro.name for macro in manifest().macros.values()
        if macro.package_name == PACKAGE and macro.original_file_path.startswith("macros/engine/")
        and not macro.name.startswith(("duckdb__", "spark__", "default__"))
    }
    assert defined == set(dispatch_macros())
