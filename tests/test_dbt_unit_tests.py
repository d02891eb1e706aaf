"""The dbt unit tests: hand-worked rows in the models' .yml files (`unit_tests:`), each a single
model's SQL on `given` rows of its direct inputs against `expect`ed rows.

dbt-duckdb takes the column types of the `given` relations from the warehouse, so they run on a
built one: a small simulated population here. The vars come from the settings (dbt_vars), as in
`journeys dbt`; each unit test pins the ones its figures depend on (`overrides: vars:`).
"""

from __future__ import annotations

from journeys import warehouse
from journeys.transforms import dbt_project
from tests.sample_warehouse import build_sample_warehouse

WRITTEN = 11
"""Unit tests written in transforms/models/**/*.yml. Fewer collected fails: a unit test must not
silently stop running (a .yml that no longer parses it, a model renamed under it)."""


def test_every_dbt_unit_test_runs_and_passes(tmp_path):
    """`dbt test --select test_type:unit` runs every unit test of the project, at least WRITTEN, and all pass."""
    settings = build_sample_warehouse(tmp_path / "home", customers=40, days=20, publish=False)
    declared = {test.name for test in dbt_project.manifest(settings).unit_tests.values()}
    with warehouse.writer(settings) as con:
        result = dbt_project.invoke(settings, ["test", "--select", "test_type:unit"],
                                    dbt_project.dbt_vars(con, settings))
    assert result.exception is None, result.exception
    ran = {r.node.name: str(r.status).lower() for r in result.result.results}
    assert len(ran) >= WRITTEN and set(ran) == declared, sorted(ran)
    assert {name: status for name, status in ran.items() if status != "pass"} == {}, dbt_project.failures(settings, result)
    assert result.success
