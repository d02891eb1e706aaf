"""The rows of a gate's frame that could fail its expectations: what GX is given to judge.

A gate whose expectations all judge row by row (not null, in a set, between bounds, unique) fails
on exactly the rows that meet one of the conditions below, so GX finds the same failing rows in
those as in the whole frame, and a clean table of 250k journeys or 10M steps costs one filtering
query in DuckDB instead of that many rows in pandas. The frame's full row count is still counted
(in DuckDB), so a result says how many rows were checked.

The conditions follow how GX reads a pandas frame: NULL and NaN are both missing values, which
`not_null` fails and every other expectation leaves alone. DuckDB's NaN sorts above every number,
so `between` and `in_set` pass NaN through as a candidate, and GX ignores it there as it would
have. An expectation without a condition here (a sum over the frame) keeps the whole frame.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import duckdb

from journeys.quality.expect import Expect

_FLOATS = {"FLOAT", "DOUBLE", "REAL", "FLOAT4", "FLOAT8"}


def candidates_sql(con: duckdb.DuckDBPyConnection, sql: str, params: dict, expectations: Sequence[Expect]) -> str | None:
    """`sql` narrowed to the rows that could fail `expectations` (already resolved); None when one
    of them judges the frame as a whole, and the whole frame must be read."""
    types = {name: str(kind).upper() for name, kind in _describe(con, sql, params)}
    conditions = []
    for expect in expectations:
        condition = _condition(expect, types)
        if condition is None:
            return None
        conditions.append(condition)
    if not conditions:
        return None
    # not materialized: a key condition reads the frame again, and DuckDB would otherwise buffer the
    # whole frame for it, which does not spill (at 100M journey steps: out of memory under 2 GB;
    # read twice instead: 30 s)
    return f"with frame as not materialized (\n{sql}\n)\nselect * from frame\nwhere " + "\n   or ".join(conditions)


def count_sql(sql: str) -> str:
    return f"select count(*) from (\n{sql}\n) as frame"


def _describe(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> list[tuple[str, str]]:
    from journeys.transforms.tables import bind

    query = f"select * from (\n{sql}\n) as frame limit 0"
    relation = con.execute(query, bind(query, params))
    return [(column[0], column[1]) for column in relation.description]


def _condition(expect: Expect, types: dict[str, str]) -> str | None:
    kwargs = expect.kwargs
    if expect.type == "expect_column_values_to_not_be_null":
        column = _quoted(kwargs["column"])
        if types.get(kwargs["column"]) in _FLOATS:
            return f"({column} is null or isnan({column}))"
        return f"{column} is null"
    if expect.type == "expect_column_values_to_be_between":
        column = _quoted(kwargs["column"])
        bounds = []
        if kwargs.get("min_value") is not None:
            bounds.append(f"{column} < {_literal(kwargs['min_value'])}")
        if kwargs.get("max_value") is not None:
            bounds.append(f"{column} > {_literal(kwargs['max_value'])}")
        return "(" + " or ".join(bounds) + ")" if bounds else "false"
    if expect.type == "expect_column_values_to_be_in_set":
        values = ", ".join(_literal(v) for v in kwargs["value_set"])
        return f"{_quoted(kwargs['column'])} not in ({values})" if values else f"{_quoted(kwargs['column'])} is not null"
    if expect.type == "expect_column_values_to_be_unique":
        return _duplicated([kwargs["column"]])
    if expect.type == "expect_compound_columns_to_be_unique":
        return _duplicated(kwargs["column_list"])
    return None


def _duplicated(columns: Sequence[str]) -> str:
    """Rows whose key value occurs more than once (NULL parts of a key compared as values, as pandas
    groups them), so both copies of a duplicate are in the frame."""
    listed = ", ".join(_quoted(c) for c in columns)
    matches = " and ".join(f"duplicated.{_quoted(c)} is not distinct from frame.{_quoted(c)}" for c in columns)
    return (f"exists (select 1 from (select {listed} from frame group by {listed} having count(*) > 1) as duplicated "
            f"where {matches})")


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _literal(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value!r}::double" if math.isfinite(value) else f"'{value!r}'::double"
    return "'" + str(value).replace("'", "''") + "'"
