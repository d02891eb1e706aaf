"""Quality gates: Great Expectations suites per layer, run as Dagster asset checks beside their asset.

    suites/       one module per layer (raw, staging, journey_model, metrics, cx): the gates
    gates.py      a gate = a query + GX expectations + a severity; running one on a connection
    validate.py   GX in process, offline, on a pandas frame (imported only when a check runs)
    checks.py     the gates as Dagster multi-asset checks: `all_checks()`
    thresholds.py the numbers the gates judge against
"""
