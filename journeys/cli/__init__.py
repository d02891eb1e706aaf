"""The `journeys` command: one subcommand per module in this package."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from journeys.cli import backbone, dbt_cmds, demo_cmds, map_cmds, metrics_cmds, report_cmds, warehouse_cmds
from journeys.settings import SettingsError, load_settings

COMMAND_MODULES = [backbone, warehouse_cmds, dbt_cmds, metrics_cmds, report_cmds, map_cmds, demo_cmds]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="journeys",
        description="Customer-journey analytics: Kafka touchpoints into a DuckDB warehouse, built by Dagster.",
    )
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log progress (every library's INFO, e.g. Dagster's steps) and journeys' own debug output; "
                             "tracebacks instead of one-line errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # -v: INFO for every library, DEBUG for ours only; Great Expectations and alembic (Dagster's
    # instance) log hundreds of INFO lines of registrations and migrations per build: warnings only
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.verbose:
        logging.getLogger("journeys").setLevel(logging.DEBUG)
        for noisy in ("great_expectations", "alembic"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    if not args.verbose:  # kafka-python warns whenever a poll took > 100 ms: noise on a busy laptop
        logging.getLogger("kafka.net.selector").setLevel(logging.ERROR)
    try:
        # Every command, even one that reads no setting, refuses a bad journeys.yaml or JOURNEYS_*
        # variable before doing anything: the same error whichever command meets it first.
        load_settings()
        code = int(args.run(args) or 0)
        sys.stdout.flush()  # a reader gone before the last buffered lines fails here, not at exit
        return code
    except BrokenPipeError:
        return _reader_gone()
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one clear line for users; -v for the traceback
        if args.verbose:
            raise
        message = " ".join(str(exc).split()) if isinstance(exc, SettingsError) else exc
        print(f"journeys {args.command}: error: {message}", file=sys.stderr)
        return 1


def _reader_gone() -> int:
    """`journeys query ... | head`: the reader closed the pipe, which is not an error of ours.

    Quiet, as the Python docs advise for SIGPIPE: stdout is pointed at /dev/null so the flush at exit
    cannot fail again and print a traceback. Exit 141 (128 + SIGPIPE), the status `cat`, `grep` or
    `seq` end with in the same pipe: the output was cut short, which a script with `set -o pipefail`
    should see, and 0 would hide. (Not SIG_DFL for SIGPIPE: that would kill ingest or build mid-write.)
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout is not a file (an embedding program's or a test's stream)
        pass
    return 141


if __name__ == "__main__":
    sys.exit(main())
