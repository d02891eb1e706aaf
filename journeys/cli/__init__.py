"""The `journeys` command: one subcommand per module in this package."""

from __future__ import annotations

import argparse
import logging
import sys

from journeys.cli import backbone, demo_cmds, metrics_cmds, report_cmds, warehouse_cmds
from journeys.settings import SettingsError, load_settings

COMMAND_MODULES = [backbone, warehouse_cmds, metrics_cmds, report_cmds, demo_cmds]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="journeys",
        description="Customer-journey analytics: Kafka touchpoints into a DuckDB warehouse, built by Dagster.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug output")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        # Every command, even one that reads no setting, refuses a bad journeys.yaml or JOURNEYS_*
        # variable before doing anything: the same error whichever command meets it first.
        load_settings()
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one clear line for users; -v for the traceback
        if args.verbose:
            raise
        message = " ".join(str(exc).split()) if isinstance(exc, SettingsError) else exc
        print(f"journeys {args.command}: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
