"""The part of dbt's Jinja context that sqlfluff's jinja templater lacks (.sqlfluff's library_path):
adapter.dispatch, resolved to the duckdb__ macro as dbt-duckdb resolves it, so sqlfluff lints the
SQL DuckDB runs, and the vars that shape a model's SQL (not only its values), as `journeys dbt`
passes them. Not part of the dbt project: dbt reads only the .sql files of macros/."""

from types import SimpleNamespace

import jinja2
from sqlfluff.core.templaters.builtins.dbt import DBT_BUILTINS

from journeys.transforms.identity import PRIORITY


class _EveryModelIncremental(dict):
    """The `incremental` var of an incremental build: an entry for every model, so sqlfluff lints
    the incremental SQL (macros/incremental.sql)."""

    def get(self, key, default=None):
        return {"raw_from": 0, "changes_from": 0, "change_seq": 1, "previous_as_of": "2025-01-01 00:00:00"}


_SHAPING_VARS = {"identifiers_by_durability": list(PRIORITY), "incremental": _EveryModelIncremental()}
"""Vars a model loops over or looks into: sqlfluff's stand-in var() is a string, which would loop over letters."""


@jinja2.pass_context
def _dispatch(context, macro_name, macro_namespace=None):
    return context[f"duckdb__{macro_name}"]


def var(name, default=""):
    return _SHAPING_VARS[name] if name in _SHAPING_VARS else DBT_BUILTINS["var"](name, default)


adapter = SimpleNamespace(dispatch=_dispatch)
execute = False  # dbt's parse phase: setting() does not insist on its var
