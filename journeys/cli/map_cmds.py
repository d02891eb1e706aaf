"""`journeys map`: the journey map per persona, from the published warehouse, as a terminal table,
CSV, JSON or an HTML page (the same layout as the report's journey-map page)."""

from __future__ import annotations

import html
import json
import math
import sys
from pathlib import Path

from journeys.settings import load_settings

FORMATS = ("table", "csv", "json", "html")

PAGE_STYLE = """body { font-family: system-ui, -apple-system, Segoe UI, sans-serif; margin: 24px; color: #1f2933; }
table.map { border-collapse: collapse; width: 100%; font-size: 13px; }
table.map th, table.map td { border: 1px solid #d9dee3; padding: 6px 8px; text-align: left; vertical-align: top; }
table.map thead th { background: #f5f7f9; }
table.map tbody th { text-transform: capitalize; white-space: nowrap; }"""


def register(commands) -> None:
    p = commands.add_parser(
        "map", help="print or write the journey map per persona (marts.journey_map)",
        description="The journey map of the published warehouse: stages as rows; top touchpoints, reach, dwell, "
                    "emotion (survey scores with 95% margins), pain points with their evidence and value at stake. "
                    "table and html show the map per stage; csv and json give marts.journey_map's rows.")
    p.add_argument("--persona", help="one persona (b2b, b2c, '(none)' or all); default: each named persona, else all")
    p.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    p.add_argument("--out", type=Path, help="write to this file instead of standard output")
    p.set_defaults(run=run_map)


def run_map(args) -> int:
    from journeys import atomic_files, journey_map_view, warehouse

    con = warehouse.reader(load_settings())
    try:
        personas = [args.persona] if args.persona else journey_map_view.default_personas(con)
        text = _render(con, personas, args.format)
    finally:
        con.close()
    if args.out is None:
        sys.stdout.write(text)
        return 0
    out = args.out.expanduser().resolve()
    atomic_files.write_text(out, text)
    print(f"wrote {out}: the journey map of {', '.join(personas)} ({args.format})")
    return 0


def _render(con, personas: list[str], fmt: str) -> str:
    from journeys import journey_map_view

    if fmt == "table":
        return "\n".join(f"Journey map: {p}\n\n{journey_map_view.table_text(journey_map_view.stage_rows(con, p))}"
                         for p in personas)
    if fmt == "html":
        tables = "\n".join(journey_map_view.table_html(p, journey_map_view.stage_rows(con, p)) for p in personas)
        return (f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Journey map: "
                f"{html.escape(', '.join(personas))}</title><style>{PAGE_STYLE}</style></head>\n<body>\n{tables}\n"
                "</body></html>\n")
    import pandas as pd

    frame = pd.concat([journey_map_view.touchpoint_rows(con, p) for p in personas], ignore_index=True)
    if fmt == "csv":
        return frame.to_csv(index=False)
    records = [{k: _json_value(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]
    return json.dumps(records, indent=2) + "\n"


def _json_value(value):
    """Missing values, NaN and ±infinity as null (JSON has no such numbers, as `journeys query` does);
    numpy scalars as Python numbers."""
    if hasattr(value, "item"):
        value = value.item()
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return value
