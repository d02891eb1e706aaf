"""The part of dbt's Jinja context that sqlfluff's jinja templater lacks (.sqlfluff's library_path):
adapter.dispatch, resolved to the duckdb__ macro as dbt-duckdb resolves it, so sqlfluff lints the
SQL DuckDB runs. Not part of the dbt project: dbt reads only the .sql files of macros/."""

from types import SimpleNamespace

import jinja2


@jinja2.pass_context
def _dispatch(context, macro_name, macro_namespace=None):
    return context[f"duckdb__{macro_name}"]


adapter = SimpleNamespace(dispatch=_dispatch)
execute = False  # dbt's parse phase: setting() does not insist on its var
