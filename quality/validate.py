"""Great Expectations, in process and offline: validate a pandas frame against expectations.

GX cannot validate DuckDB tables through SQL (every metric fails with MetricResolutionError,
GX issues #10738 and #11579), so each gate reads its rows, or an aggregate of them, into pandas
and validates that with an ephemeral context. GX is imported here only, on first use.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

import pandas as pd

from journeys.quality.expect import Expect

_batch_definition = None


@dataclass
class Outcome:
    expectation: Expect
    success: bool
    unexpected_count: int = 0
    unexpected_index: list[int] = field(default_factory=list)
    observed: object = None
    exception: str | None = None


def _batch():
    """One ephemeral context, pandas data source and whole-frame batch definition per process."""
    global _batch_definition
    if _batch_definition is None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        # That module sets its own logger to INFO and logs its ephemeral docs folder on every new
        # context: noise in a build's output.
        logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)

        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        asset = context.data_sources.add_pandas("journeys_quality").add_dataframe_asset("frame")
        _batch_definition = asset.add_batch_definition_whole_dataframe("whole_frame")
    return _batch_definition


def gx_expectation(expect: Expect, index: int):
    import great_expectations as gx

    cls = getattr(gx.expectations, "".join(part.title() for part in expect.type.split("_")))
    return cls(**expect.kwargs, meta={"index": index})


def gx_suite(name: str, expectations: list[Expect]):
    """The gate's expectations as a GX ExpectationSuite (not saved anywhere: the context is ephemeral)."""
    import great_expectations as gx

    return gx.ExpectationSuite(name=name, expectations=[gx_expectation(e, i) for i, e in enumerate(expectations)])


def validate_frame(frame: pd.DataFrame, expectations: list[Expect], name: str) -> list[Outcome]:
    """One Outcome per expectation, in the order given."""
    batch = _batch().get_batch(batch_parameters={"dataframe": frame.reset_index(drop=True)})
    report = batch.validate(gx_suite(name, expectations), result_format="COMPLETE")
    outcomes: list[Outcome | None] = [None] * len(expectations)
    for result in report.results:
        index = int(result.expectation_config.meta["index"])
        details = result.result or {}
        exception = None
        if result.exception_info and result.exception_info.get("raised_exception"):
            exception = result.exception_info.get("exception_message") or "expectation raised"
        outcomes[index] = Outcome(
            expectation=expectations[index],
            success=bool(result.success) and exception is None,
            unexpected_count=int(details.get("unexpected_count") or 0),
            unexpected_index=[i for i in details.get("unexpected_index_list") or [] if isinstance(i, int)],
            observed=details.get("observed_value"),
            exception=exception,
        )
    return [o if o is not None else Outcome(e, False, exception="not evaluated") for o, e in zip(outcomes, expectations)]
