"""dbt commands: `journeys dbt ...` (dbt itself, configured) and `journeys docs` (the catalog site)."""

from __future__ import annotations

import argparse

from journeys.settings import load_settings


def register(commands) -> None:
    p = commands.add_parser(
        "dbt", help="run dbt on the working warehouse: `journeys dbt build --select stage_funnel+`",
        description="Runs dbt (any subcommand and flags) on the project in transforms/, against the working "
                    "warehouse, with every setting passed as a var and the writer lock held. It does not "
                    "publish: `journeys build` builds the Python steps too, checks, and publishes.")
    p.add_argument("dbt_args", nargs=argparse.REMAINDER, metavar="DBT_ARGS", help="what follows `dbt`")
    p.set_defaults(run=run_dbt)

    p = commands.add_parser("docs", help="generate the dbt docs site (lineage, every model's contract) into published/docs/")
    p.set_defaults(run=run_docs)


def run_dbt(args) -> int:
    from journeys import warehouse
    from journeys.transforms import dbt_project

    if not args.dbt_args:
        raise SystemExit("journeys dbt: say what dbt should do, e.g. `journeys dbt build --select stage_funnel+`")
    settings = load_settings()
    with warehouse.writer(settings) as con:
        result = dbt_project.invoke(settings, args.dbt_args, dbt_project.dbt_vars(con, settings), quiet=False)
    return 0 if result.success else 1


def run_docs(args) -> int:
    from journeys.docs_site import generate_docs

    index = generate_docs(load_settings())
    print(f"dbt docs written to {index} (a single file: open it in a browser, no server needed)")
    return 0
