"""What every chart of the report shares: reading a mart for a chart (or saying why there is
nothing to draw), the page's layout, money's currency, and the survey scales."""

from __future__ import annotations

import duckdb
import pandas as pd

from journeys import warehouse

MODEBAR_PX = 30
"""Height of plotly's toolbar (top right of each chart, shown on hover). Every chart's top margin
leaves this much above its subplot titles, legend and annotations, so the toolbar covers no text."""


class EmptySection(Exception):
    """A section has nothing to draw (table missing or empty); the page says so instead."""


def frame(con: duckdb.DuckDBPyConnection, sql: str, table: str) -> pd.DataFrame:
    if not warehouse.table_exists(con, table):
        raise EmptySection(f"{table} is not in the published warehouse")
    frame = con.execute(sql).df()
    if frame.empty:
        raise EmptySection(f"{table} has no rows for this chart")
    return frame


def layout(fig, height: int = 420, **kwargs):
    fig.update_layout(height=height, margin=dict(l=60, r=30, t=40 + MODEBAR_PX, b=50), template="plotly_white",
                      font=dict(family="system-ui, -apple-system, Segoe UI, sans-serif", size=13),
                      legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0), **kwargs)
    return fig


def has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    schema, _, name = table.partition(".")
    return con.execute("select count(*) from information_schema.columns where table_schema = ? and table_name = ? "
                       "and column_name = ?", [schema, name, column]).fetchall()[0][0] > 0


def currency_of(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """The currency of a mart's money columns ('EUR'), as the mart states it; '?' if it does not."""
    if not has_column(con, table, "currency"):
        return "currency unknown"
    found = [r[0] for r in con.execute(f"select distinct currency from {table} where currency is not null order by 1")
             .fetchall()]
    return " / ".join(found) or "?"


SCALES = {"nps": (-100.0, 100.0), "csat": (0.0, 1.0), "ces": (1.0, 7.0)}
"""What each score can be: a margin of error never reaches past it (a CSAT above 100%, a CES below 1)."""


def clipped_error_bars(values, margins, low: float, high: float):
    """(plus, minus) bar lengths of value ± margin, cut at the scale's ends."""
    import numpy as np

    values = np.asarray(values, dtype=float)
    margins = np.nan_to_num(np.asarray(margins, dtype=float), nan=0.0)
    plus = np.clip(np.minimum(values + margins, high) - values, 0, None)
    minus = np.clip(values - np.maximum(values - margins, low), 0, None)
    return plus, minus
