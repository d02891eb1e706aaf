"""The percentile_ranks and exact_percentile macros (transforms/macros/exact_percentiles.sql), which
stand in for percentile_cont where a group is too large to hold in memory: run on DuckDB over
random groups, they give numpy's linear-interpolation percentiles, and DuckDB's own percentile_cont."""

from __future__ import annotations

from pathlib import Path

import duckdb
import jinja2
import numpy as np
import pandas as pd
import pytest

MACRO = Path(__file__).resolve().parents[1] / "transforms" / "macros" / "exact_percentiles.sql"


def percentiles_query(table: str, group: str, value: str, fractions: dict[str, float]) -> str:
    """The macros as a model uses them: ranks added in one select, the percentiles aggregated by group."""
    macros = jinja2.Environment(extensions=["jinja2.ext.do"]).from_string(MACRO.read_text()).module
    columns = ", ".join(f"{macros.exact_percentile(value, q)} as {name}" for name, q in fractions.items())
    return (f"select {group}, count(*) as n_rows, {columns} "
            f"from (select *, {macros.percentile_ranks(value, [group])} from {table}) group by {group}")


def test_the_macro_gives_numpys_and_duckdbs_percentiles():
    """300 groups of 1 to 40 values (ties, negatives, NULLs among them) and one group of NULLs only,
    whose percentiles are NULL, its rows still counted; every figure equals numpy's (method 'linear')
    and percentile_cont's to 1e-12."""
    rng = np.random.default_rng(11)
    sizes = rng.integers(1, 41, 300)
    frame = pd.DataFrame({"g": np.repeat(np.arange(300), sizes),
                          "x": rng.choice([-5.5, 0.0, 1.0, 2.25, 1e6, *rng.normal(0, 100, 50)], sizes.sum())})
    frame.loc[frame.sample(frac=0.1, random_state=2).index, "x"] = np.nan  # NULL in DuckDB
    frame = pd.concat([frame, pd.DataFrame({"g": [999, 999], "x": [np.nan, np.nan]})])
    con = duckdb.connect()
    con.register("values_frame", frame)
    con.execute("create table t as select g, case when isnan(x) then null else x end as x from values_frame")
    got = con.execute(percentiles_query("t", "g", "x", {"p50": 0.5, "p90": 0.9, "p0": 0.0, "p100": 1.0})
                      + " order by g").df().set_index("g")
    assert got.loc[999, "n_rows"] == 2 and got.loc[999, ["p50", "p90", "p0", "p100"]].isna().all()
    assert got["n_rows"].sum() == len(frame)
    expected = con.execute("""select g, percentile_cont(0.5) within group (order by x) as p50,
                                     percentile_cont(0.9) within group (order by x) as p90
                              from t group by g order by g""").df().set_index("g")
    assert list(got.index) == list(expected.index)
    # the same to a relative 1e-12: DuckDB rounds its interpolation its own way in the last bits
    assert np.allclose(got["p50"], expected["p50"], rtol=1e-12, atol=1e-12, equal_nan=True)
    assert np.allclose(got["p90"], expected["p90"], rtol=1e-12, atol=1e-12, equal_nan=True)
    for g, values in frame.dropna().groupby("g")["x"]:
        for name, q in (("p50", 0.5), ("p90", 0.9), ("p0", 0.0), ("p100", 1.0)):
            assert got.loc[g, name] == pytest.approx(np.percentile(values, q * 100), rel=1e-12, abs=1e-12), (g, name)
