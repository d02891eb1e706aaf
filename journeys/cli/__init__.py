"""The `journeys` command: one subcommand per module in this package."""

from __future__ import annotations

import argparse
import logging
import sys

from journeys.cli import backbone, demo_cmds, metrics_cmds, report_cmds, warehouse_cmds

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
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one clear line for users; -v for the traceback
        if args.verbose:
            raise
        print(f"journeys {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
