"""The journey map as people read it: one table per persona, stages as rows, and the columns CX
teams draw (top touchpoints, reach, dwell, emotion, pain points, value at stake).

It reads marts.journey_map, marts.stage_value_at_stake and marts.emotion_curve and only lays them
out: every figure is the marts'. The report's journey-map section and `journeys map` both use it,
so the page and the command always show the same map.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import duckdb
import pandas as pd

from journeys import warehouse

TOP_TOUCHPOINTS = 3
"""Touchpoints listed per stage, by journeys through them: a map cell holds a few, not all."""

PAIN_LABELS = {"top_drop_off": "top drop-off", "long_dwell": "long dwell", "low_satisfaction": "low satisfaction",
               "repeat_contact": "repeat contact"}

MAP_COLUMNS = ("stage", "top touchpoints", "reach", "dwell", "emotion", "pain points", "value at stake")


class NoJourneyMap(Exception):
    """The warehouse has no journey map (not built yet), or none for the persona asked for."""


@dataclass(frozen=True)
class StageRow:
    """One row of a persona's map: display texts per column, and the figures behind them."""

    stage: str
    cells: dict[str, str]
    value_at_stake: float
    rank: int | None


def personas(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The map's personas, those with a name first (b2b, b2c), then '(none)', then 'all'."""
    _require(con)
    found = [r[0] for r in con.execute("select distinct persona from marts.journey_map").fetchall()]
    return sorted(found, key=lambda p: (p == "all", p == "(none)", p))


def default_personas(con: duckdb.DuckDBPyConnection) -> list[str]:
    """What a reader wants first: each named persona; 'all' when the journeys carry none."""
    return shown_personas(personas(con))


def shown_personas(found) -> list[str]:
    """Of the personas `found`, those the map and its charts show: the named ones, else 'all'."""
    named = sorted(set(found) - {"all", "(none)"})
    return named or ["all"]


def touchpoint_rows(con: duckdb.DuckDBPyConnection, persona: str) -> pd.DataFrame:
    """marts.journey_map's rows of one persona, in stage order, most-travelled touchpoint first."""
    _require(con)
    frame = con.execute("""select * from marts.journey_map where persona = ?
                           order by stage_rank, n_journeys desc, channel, event_type""", [persona]).df()
    if frame.empty:
        raise NoJourneyMap(f"no journey map for persona {persona!r}; the map has {', '.join(personas(con))}")
    return frame


def stage_rows(con: duckdb.DuckDBPyConnection, persona: str) -> list[StageRow]:
    touchpoints = touchpoint_rows(con, persona)
    stages = con.execute("select * from marts.stage_value_at_stake where persona = ? order by stage_rank",
                         [persona]).df().set_index("stage")
    curve = con.execute("select * from marts.emotion_curve where persona = ?", [persona]).df().set_index("stage")
    out = []
    for stage, part in touchpoints.groupby("stage", sort=False):
        at_stake = stages.loc[stage] if stage in stages.index else None
        emotion = curve.loc[stage] if stage in curve.index else None
        out.append(StageRow(
            stage=str(stage),
            cells={
                "stage": str(stage),
                "top touchpoints": "\n".join(f"{r.channel} {r.event_type} ({r.share_of_stage_journeys:.0%})"
                                             for r in part.head(TOP_TOUCHPOINTS).itertuples()),
                "reach": f"{int(part['n_stage_journeys'].iloc[0]):,} journeys",
                "dwell": _dwell_text(part),
                "emotion": _emotion_text(emotion),
                "pain points": _pain_text(part),
                "value at stake": _value_text(at_stake),
            },
            value_at_stake=float(at_stake["value_at_stake"]) if at_stake is not None else 0.0,
            rank=int(at_stake["rank"]) if at_stake is not None else None,
        ))
    return out


def duration(seconds: float | None) -> str:
    """Seconds as a person reads them: 45 s, 12 min, 3.5 h, 2.1 d (rounded first, so 59.6 s is 1 min)."""
    if seconds is None or pd.isna(seconds):
        return "–"
    if round(seconds) < 60:
        return f"{seconds:.0f} s"
    if round(seconds / 60) < 60:
        return f"{seconds / 60:.0f} min"
    if round(seconds / 3600, 1) < 24:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _dwell_text(part: pd.DataFrame) -> str:
    """The most-travelled touchpoint's median and p90 dwell."""
    top = part.iloc[0]
    if pd.isna(top["median_dwell_s"]):
        return "–"
    return f"median {duration(top['median_dwell_s'])}, p90 {duration(top['p90_dwell_s'])} ({top['event_type']})"


SCORE_FORMAT = {"csat": ".0%", "nps": ".0f", "ces": ".2f"}
"""How the map and its charts write each score: CSAT a share, NPS points, CES on its 1-5 scale."""


def plus_minus(margin, spec: str) -> str:
    """' ± margin' written with `spec`, or '' where there is none: one answer (one CES score) has no
    standard deviation, hence no margin."""
    return "" if pd.isna(margin) else f" ± {margin:{spec}}"


def _emotion_text(emotion) -> str:
    if emotion is None or not emotion["n_responses"]:
        return "no survey answers"
    parts = []
    for score, spec in SCORE_FORMAT.items():
        n = emotion[f"n_{score}_responses"]
        if n:
            margin = plus_minus(emotion[f"{score}_margin_of_error"], spec)
            parts.append(f"{score.upper()} {emotion[score]:{spec}}{margin} (n={int(n)})")
    return "\n".join(parts)


def _pain_text(part: pd.DataFrame) -> str:
    """Each flagged touchpoint with the evidence behind its flags."""
    lines = []
    for r in part[part["pain_flags"].notna()].itertuples():
        evidence = []
        if r.is_top_drop_off:
            evidence.append(f"{r.n_dropped:,} stopped here ({r.drop_off_rate:.0%})")
        if r.is_long_dwell:
            evidence.append(f"median dwell {duration(r.median_dwell_s)}")
        if r.is_low_satisfaction:
            evidence.append("CSAT " + (f"{r.csat:.0%}" if not pd.isna(r.csat) else "–")
                            + ", NPS " + (f"{r.nps:.0f}" if not pd.isna(r.nps) else "–"))
        if r.is_repeat_contact:
            evidence.append(f"{r.n_repeat_contacts:,} of {r.n_tickets:,} tickets repeat contacts")
        flags = ", ".join(PAIN_LABELS[f] for f in r.pain_flags.split(", "))
        lines.append(f"{r.channel} {r.event_type}: {flags}: {'; '.join(evidence)}")
    return "\n".join(lines) or "–"


def _value_text(at_stake) -> str:
    if at_stake is None:
        return "–"
    share = at_stake["share_of_value_at_stake"]
    share_text = "" if pd.isna(share) else f", {share:.0%} of the total"
    return (f"{at_stake['currency']} {at_stake['value_at_stake']:,.0f} (rank {int(at_stake['rank'])}{share_text}); "
            f"{int(at_stake['n_dropped']):,} journeys stopped here")


def table_text(rows: list[StageRow]) -> str:
    """The map as plain text for a terminal: one block per stage, a column per line."""
    blocks = []
    for row in rows:
        lines = [f"== {row.stage} =="]
        for column in MAP_COLUMNS[1:]:
            first, *rest = row.cells[column].split("\n")
            lines.append(f"  {column:<16}{first}")
            lines.extend(f"  {'':<16}{more}" for more in rest)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def table_html(persona: str, rows: list[StageRow]) -> str:
    """One persona's map as an HTML table (the report's page, and `journeys map --format html`)."""
    head = "".join(f"<th scope=\"col\">{html.escape(c)}</th>" for c in MAP_COLUMNS)
    body = []
    for row in rows:
        cells = [f'<th scope="row">{html.escape(row.stage)}</th>']
        cells += [f'<td data-column="{html.escape(c)}">{html.escape(row.cells[c]).replace(chr(10), "<br>")}</td>'
                  for c in MAP_COLUMNS[1:]]
        rank = f' data-invest-rank="{row.rank}"' if row.rank is not None else ""
        body.append(f'<tr data-stage="{html.escape(row.stage)}"{rank}>{"".join(cells)}</tr>')
    return (f'<div class="journey-map" data-persona="{html.escape(persona)}">'
            f"<h3>Journey map: {html.escape(persona)}</h3>"
            f'<table class="map"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>')


def _require(con: duckdb.DuckDBPyConnection) -> None:
    for table in ("marts.journey_map", "marts.stage_value_at_stake", "marts.emotion_curve"):
        if not warehouse.table_exists(con, table):
            raise NoJourneyMap(f"{table} is not in the warehouse; run `journeys build`")
