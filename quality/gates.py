"""A quality gate: a query that returns rows (or an aggregate of them) and the GX expectations
those rows must meet, with a severity.

ERROR gates run as blocking Dagster checks: a failure stops every asset downstream of the
checked table, publishing included, so the last good published warehouse stays in place.
WARN gates are reported (Dagster UI, `journeys build` output) and block nothing.

Rules that are not a single GX built-in (funnel counts never increase, attribution shares sum
to 1, a channel's volume did not collapse) are written as SQL that computes one row per thing
judged (per stage, per journey and model, per channel), then validated with plain column
expectations; the failing rows of that frame are the sample the check reports.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field

import duckdb
import pandas as pd

from journeys.quality.candidates import candidates_sql, count_sql
from journeys.quality.expect import Expect
from journeys.quality.thresholds import Thresholds, thresholds
from journeys.settings import Settings


class Severity(enum.StrEnum):
    ERROR = "ERROR"
    WARN = "WARN"


ERROR, WARN = Severity.ERROR, Severity.WARN
_TABLE = re.compile(r"\b(raw|staging|intermediate|marts)\.([a-z_][a-z0-9_]*)\b")


@dataclass(frozen=True)
class Gate:
    table: str
    """`layer.table` the gate sits beside; its Dagster asset key is [layer, table]."""
    name: str
    """Check name, unique per table (shown in the Dagster UI and in `journeys build`)."""
    description: str
    """What a failure means, in a sentence."""
    sql: str
    """Query returning the frame to validate; may use `$as_of`, `$checked_at`, settings and thresholds."""
    expectations: tuple[Expect, ...]
    severity: Severity = ERROR
    explain: str | None = None
    """Column of the frame that says in words what is wrong with its row: on a failure, the failing
    rows' texts are the check's message (one thing judged, such as the as-of date, reads better as a
    sentence than as an expectation and a sample)."""

    @property
    def asset_key(self) -> list[str]:
        return self.table.split(".")

    @property
    def reads(self) -> list[str]:
        """Other tables the query reads: the check must wait for them too (Dagster additional_deps)."""
        found = dict.fromkeys(f"{layer}.{table}" for layer, table in _TABLE.findall(self.sql))
        return [t for t in found if t != self.table]


def gate(table: str, name: str, description: str, sql: str, *expectations: Expect | Sequence[Expect],
         severity: Severity = ERROR, explain: str | None = None) -> Gate:
    flat: list[Expect] = []
    for e in expectations:
        flat.extend([e] if isinstance(e, Expect) else e)
    return Gate(table, name, description, sql.strip(), tuple(flat), severity, explain)


@dataclass
class GateResult:
    gate: Gate
    passed: bool
    rows_checked: int = 0
    failing_rows: int = 0
    failures: list[str] = field(default_factory=list)
    """One line per failed expectation: what it required and how many rows broke it."""
    sample: str = ""
    """The first failing rows of the validated frame, as text."""
    message: str = ""
    """What is wrong, in words (the failing rows' `explain` column), for gates that have one."""

    @property
    def severity(self) -> Severity:
        return self.gate.severity

    def metadata(self) -> dict:
        """What the Dagster UI and `journeys build` show: counts first, the sample last."""
        meta: dict = {"message": self.message} if self.message else {}
        meta.update({"rows_checked": self.rows_checked, "failing_rows": self.failing_rows})
        if self.failures:
            meta["failed"] = "; ".join(self.failures)
        if self.sample:
            meta["sample"] = self.sample
        return meta

    def line(self) -> str:
        status = "passed" if self.passed else f"FAILED ({self.severity})"
        detail = self.message or "; ".join(self.failures)
        return f"{self.gate.table}: {self.gate.name} {status}" + (f" — {detail}" if detail else "")


def gate_params(con: duckdb.DuckDBPyConnection, settings: Settings, limits: Thresholds | None = None) -> dict:
    """Named parameters a gate's SQL may use: the models' own parameters, thresholds, the check time."""
    from journeys.transforms.params import model_params

    params = model_params(con, settings)
    params.update(asdict(limits or thresholds(settings)))
    params["checked_at"] = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return params


def _fmt(value) -> str:
    if isinstance(value, float) or hasattr(value, "dtype"):
        return f"{float(value):.6g}"
    return repr(value)


def _sample(shown: pd.DataFrame, failing_rows: int) -> str:
    """The first failing rows as text, and how many more failed."""
    if not len(shown):
        return ""
    shown = shown.astype(object)
    shown = shown.where(shown.notna(), "NULL")
    with pd.option_context("display.max_columns", 20, "display.width", 200, "display.max_colwidth", 40):
        text = shown.to_string(index=False)
    more = failing_rows - len(shown)
    return text + (f"\n… and {more:,} more" if more > 0 else "")


def resolve(expect: Expect, params: dict) -> Expect:
    """Replace `"$name"` values (thresholds, settings) by the parameter's value."""
    kwargs = {k: params[v[1:]] if isinstance(v, str) and v.startswith("$") else v for k, v in expect.kwargs.items()}
    return Expect(expect.type, kwargs)


WHOLE_FRAME = frozenset({"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique",
                         "expect_column_sum_to_be_between"})
"""Expectations that judge the frame as a whole: a gate using one reads its frame at once, so its SQL
must keep the frame small: an aggregate, or a frame narrowed to the rows that could fail
(quality/candidates.py does that for the row-level expectations)."""

CHUNK_ROWS = 250_000
"""Rows validated at a time by a gate whose expectations all judge row by row: its memory stays
bounded however large the table it reads (10M staged events are 40 chunks, not one 5 GB frame)."""


def _frames(con: duckdb.DuckDBPyConnection, g: Gate, sql: str, params: dict) -> Iterator[pd.DataFrame]:
    """The frame `sql` returns: whole when an expectation of `g` needs it whole, else in chunks of
    about CHUNK_ROWS rows (one empty chunk when there are no rows, so the expectations still see the
    columns)."""
    from journeys.transforms.tables import bind

    result = con.execute(sql, bind(sql, params))
    if any(e.type in WHOLE_FRAME for e in g.expectations):
        yield result.df()
        return
    first = True
    while True:
        frame = result.fetch_df_chunk(CHUNK_ROWS // 2048)  # in DuckDB vectors of 2,048 rows
        if len(frame) or first:
            yield frame
        if not len(frame):
            return
        first = False


def run_gate(con: duckdb.DuckDBPyConnection, g: Gate, params: dict, sample_rows: int = 5) -> GateResult:
    """Validates the gate's frame with GX, chunk by chunk (see `_frames`), adding up what failed:
    per expectation the failing rows, and the first `sample_rows` failing rows as the sample. GX is
    given only the rows that could fail, when the expectations allow it (quality/candidates.py)."""
    from journeys.quality.validate import validate_frame
    from journeys.transforms.tables import bind

    expectations = [resolve(e, params) for e in g.expectations]
    failed: dict[int, int] = {}  # expectation index -> its failing rows, over every chunk
    errors: dict[int, str] = {}
    observed: dict[int, object] = {}
    rows_checked = failing_rows = 0
    samples: list[pd.DataFrame] = []
    try:
        narrowed = candidates_sql(con, g.sql, params, expectations)
        for frame in _frames(con, g, narrowed or g.sql, params):
            outcomes = validate_frame(frame, expectations, f"{g.table}.{g.name}")
            failing: set[int] = set()
            for i, outcome in enumerate(outcomes):
                if outcome.success:
                    continue
                failing.update(outcome.unexpected_index)
                if outcome.exception:
                    errors.setdefault(i, outcome.exception.splitlines()[0])
                elif outcome.unexpected_count:
                    failed[i] = failed.get(i, 0) + outcome.unexpected_count
                else:  # an aggregate of the whole frame (a sum): every row took part
                    observed[i] = outcome.observed
                    failing.update(range(len(frame)))
            rows_checked += len(frame)
            failing_rows += len(failing)
            if failing and sum(map(len, samples)) < sample_rows:
                samples.append(frame.iloc[sorted(failing)[:sample_rows]])
        if narrowed:  # every row of the frame was judged: the ones GX did not see could not fail
            rows_checked = con.execute(count_sql(g.sql), bind(count_sql(g.sql), params)).fetchall()[0][0]
    except (duckdb.Error, KeyError) as exc:
        return GateResult(g, passed=False, failures=[f"query failed: {str(exc).splitlines()[0]}"])
    failures = []
    for i, expectation in enumerate(expectations):
        if i in errors:
            failures.append(f"{expectation.label}: error {errors[i]}")
        elif i in failed:
            failures.append(f"{expectation.label}: {failed[i]:,} of {rows_checked:,} rows")
        elif i in observed:
            failures.append(f"{expectation.label}: observed {_fmt(observed[i])}")
    shown = pd.concat(samples).head(sample_rows) if samples else pd.DataFrame()
    message = ""
    if g.explain and len(shown):
        texts = [str(t) for t in shown[g.explain] if isinstance(t, str) and t]
        message = "; ".join(dict.fromkeys(texts))
    return GateResult(g, passed=not failures, rows_checked=rows_checked, failing_rows=failing_rows, failures=failures,
                      sample=_sample(shown.drop(columns=[g.explain]) if g.explain and len(shown) else shown,
                                     failing_rows),
                      message=message)


def run_gates(con: duckdb.DuckDBPyConnection, gates: Sequence[Gate], settings: Settings) -> list[GateResult]:
    limits = thresholds(settings)
    params = gate_params(con, settings, limits)
    return [run_gate(con, g, params, limits.sample_rows) for g in gates]
