"""Reading the published warehouse: report, tables."""

from __future__ import annotations

import sys
from pathlib import Path

from journeys.settings import load_settings


def register(commands) -> None:
    p = commands.add_parser("report", help="write a self-contained HTML report (charts inline) from the published warehouse")
    p.add_argument("--out", type=Path, default=Path("report.html"), help="output file (default: report.html)")
    p.set_defaults(run=run_report)

    p = commands.add_parser("tables", help="list the published tables with their grain and column descriptions")
    p.add_argument("--schema", help="only this schema (layer), e.g. marts (default: every schema)")
    p.add_argument("--format", choices=("text", "markdown", "json"), default="text", help="output format (default: text)")
    p.add_argument("--no-columns", dest="columns", action="store_false", help="tables and their grain only")
    p.set_defaults(run=run_tables)


def run_report(args) -> int:
    from journeys.report import build_report

    out = args.out.expanduser().resolve()
    missing = next((folder for folder in reversed(out.parents) if not folder.exists()), None)
    sections = build_report(load_settings(), out, progress=sys.stderr.isatty())
    drawn = [s for s in sections if s.html]
    created = f", created folder {missing}" if missing is not None else ""
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB{created}): {len(drawn)} of {len(sections)} charts")
    for s in sections:
        if not s.html:
            print(f"  no {s.title.lower()}: {s.note}")
    return 0


def run_tables(args) -> int:
    from journeys.catalog import format_tables, published_tables

    tables = published_tables(load_settings(), args.schema)
    if not tables:
        print(f"no published tables{f' in schema {args.schema}' if args.schema else ''}", file=sys.stderr)
        return 1
    sys.stdout.write(format_tables(tables, args.format, args.columns))
    return 0
