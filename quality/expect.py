"""Great Expectations expectations, described without importing GX.

GX takes about 3.5 s to import, so suites are declared with these light descriptions and turned
into `gx.expectations.*` objects only when a check runs (quality/validate.py). The names are GX's
own expectation types, so a suite reads like a GX suite.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Expect:
    type: str
    """GX expectation type, e.g. `expect_column_values_to_be_between`."""
    kwargs: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items() if k != "mostly")
        return f"{self.type.removeprefix('expect_')}({args})"

    def __hash__(self) -> int:
        return hash((self.type, repr(sorted(self.kwargs.items()))))


def not_null(*columns: str) -> list[Expect]:
    return [Expect("expect_column_values_to_not_be_null", {"column": c}) for c in columns]


def unique(column: str) -> Expect:
    return Expect("expect_column_values_to_be_unique", {"column": column})


def key(*columns: str) -> list[Expect]:
    """A grain: every column not null, the combination unique."""
    if len(columns) == 1:
        return [*not_null(columns[0]), unique(columns[0])]
    return [*not_null(*columns), Expect("expect_compound_columns_to_be_unique", {"column_list": list(columns)})]


def between(column: str, min_value: float | None = None, max_value: float | None = None) -> Expect:
    """Inclusive range; NULLs are not checked (use not_null for that)."""
    kwargs: dict = {"column": column}
    if min_value is not None:
        kwargs["min_value"] = min_value
    if max_value is not None:
        kwargs["max_value"] = max_value
    return Expect("expect_column_values_to_be_between", kwargs)


def in_set(column: str, values) -> Expect:
    return Expect("expect_column_values_to_be_in_set", {"column": column, "value_set": list(values)})


def equal(column: str, value: float) -> Expect:
    return between(column, value, value)


def true(column: str) -> Expect:
    return in_set(column, [True])


def sum_between(column: str, min_value: float | None = None, max_value: float | None = None) -> Expect:
    """The column's total: for a frame of parts (shares per event type) that must add up to something."""
    kwargs: dict = {"column": column}
    if min_value is not None:
        kwargs["min_value"] = min_value
    if max_value is not None:
        kwargs["max_value"] = max_value
    return Expect("expect_column_sum_to_be_between", kwargs)
