"""`journeys report`: one self-contained HTML page an analyst can send around.

It reads the published warehouse (never the working file, so it runs during a build) and draws
eight charts with plotly. Everything is inline — plotly.js once in the page head, each chart as
a `<div>` plus its data — so the file opens offline, in a mail attachment, on a plane.

The page watches itself: a script before plotly.js records every `error` and
`unhandledrejection` in `<html data-js-errors>`, and each chart marks its `<section>` with
`data-rendered="true"` once plotly has drawn it. tests/test_report.py loads the page in headless
Chromium and reads those marks from the rendered DOM, and prints it to PDF on A4 and Letter.

Money is shown with its currency (the marts hold it in the reporting currency and say which);
survey error bars are cut at their scales; each chart leaves a band for plotly's toolbar above its
titles, and zooms, in print only, to fit the paper (the template's `journeysReport.fitForPrint`).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import string
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import duckdb
import pandas as pd

from journeys import atomic_files, report_journey_map, warehouse
from journeys.report_figures import SCALES, EmptySection, clipped_error_bars
from journeys.report_figures import currency_of as _currency
from journeys.report_figures import frame as _frame
from journeys.report_figures import has_column as _has_column
from journeys.report_figures import layout as _layout
from journeys.settings import Settings

JOURNEY_TYPE_COLORS = {"linear": "#4C78A8", "branching": "#F58518", "cyclical": "#54A24B", "complex": "#B279A2"}
MODEL_ORDER = ("first_touch", "last_touch", "linear", "time_decay", "position_based", "markov")

_POST_SCRIPT = """
var gd = document.getElementById('{plot_id}');
var section = gd.closest('section');
if (section) { section.setAttribute('data-rendered', gd.querySelector('.main-svg') ? 'true' : 'false'); }
journeysReport.fitForPrint(gd);
gd.on('plotly_afterplot', function () { journeysReport.fitForPrint(gd); });
"""

@dataclass
class Section:
    key: str
    title: str
    source: str
    """The published table(s) it reads, shown under the chart."""
    explain: str
    draw: Callable[[duckdb.DuckDBPyConnection], object]
    """Returns a plotly figure or an HtmlBlock (a table), or raises EmptySection."""
    html: str = ""
    note: str = ""
    kind: str = "chart"
    """chart (plotly marks it rendered once drawn) or table (static HTML, rendered as it arrives)."""


# --------------------------------------------------------------------------- the eight charts

def stage_funnel(con):
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    df = _frame(con, """select stage, stage_rank, n_journeys, n_reached, drop_off_rate
                        from marts.stage_funnel where breakdown = 'overall' order by stage_rank""",
                "marts.stage_funnel")
    fig = make_subplots(rows=1, cols=2, column_widths=[0.62, 0.38], horizontal_spacing=0.12,
                        subplot_titles=("Journeys reaching each stage", "Drop-off to the next stage"))
    fig.add_trace(go.Funnel(y=df["stage"], x=df["n_reached"], texttemplate="%{value:,}<br>%{percentInitial:.0%}",
                            marker=dict(color="#4C78A8"), name="reached"), row=1, col=1)
    drop = df.dropna(subset=["drop_off_rate"])
    fig.add_trace(go.Bar(y=drop["stage"], x=drop["drop_off_rate"], orientation="h", marker=dict(color="#E45756"),
                         text=[f"{v:.0%}" for v in drop["drop_off_rate"]], textposition="outside", textangle=0,
                         cliponaxis=False, name="drop-off",
                         hovertemplate="%{y}: %{x:.1%} of the journeys reaching it got no further<extra></extra>"),
                  row=1, col=2)
    fig.update_xaxes(tickformat=".0%", range=[0, 1], row=1, col=2)
    fig.update_yaxes(categoryorder="array", categoryarray=list(df["stage"])[::-1], row=1, col=2)
    return _layout(fig, showlegend=False)


STAGE_FLOW_STEPS = 5
"""Stage steps per journey the flow diagram follows before the outcome."""


def stage_flow(con):
    import plotly.graph_objects as go

    if not warehouse.table_exists(con, "marts.journeys"):
        raise EmptySection("marts.journeys is not in the published warehouse")
    df = _frame(con, f"""
        with mapped as (
            select journey_id, step_number, stage,
                   lag(stage) over (partition by journey_id order by step_number) as previous_stage
            from marts.journey_steps where stage is not null
        ),
        stage_steps as (  -- consecutive touchpoints in the same stage are one stage step
            select journey_id, stage, row_number() over (partition by journey_id order by step_number) as position
            from mapped where previous_stage is null or previous_stage <> stage
        ),
        followed as (
            select s.journey_id, s.position, s.stage, n.stage as next_stage,
                   case when j.is_converted then 'converted' else 'not converted' end as outcome
            from stage_steps as s
            join marts.journeys as j using (journey_id)
            left join stage_steps as n on n.journey_id = s.journey_id and n.position = s.position + 1
            where s.position <= {STAGE_FLOW_STEPS}
        )
        select position, stage as source,
               case when next_stage is not null and position < {STAGE_FLOW_STEPS} then next_stage else outcome end as target,
               next_stage is null or position = {STAGE_FLOW_STEPS} as is_last,
               count(*) as n_journeys
        from followed group by all order by position, n_journeys desc""", "marts.journey_steps")
    stages = [r[0] for r in con.execute("select stage from marts.stages order by stage_rank").fetchall()] \
        if warehouse.table_exists(con, "marts.stages") else sorted(set(df["source"]))
    palette = ["#4C78A8", "#72B7B2", "#F58518", "#54A24B", "#B279A2", "#EECA3B", "#9D755D", "#FF9DA6"]
    stage_color = {stage: palette[i % len(palette)] for i, stage in enumerate(stages)}
    nodes: dict[tuple, int] = {}

    def node(position, name):
        return nodes.setdefault((position, name), len(nodes))

    links = []
    for row in df.itertuples():
        target = ("end", row.target) if row.is_last else (row.position + 1, row.target)
        links.append((node(row.position, row.source), node(*target), row.n_journeys, row.source))
    labels = [name for _, name in nodes]
    colors = [stage_color.get(name, "#54A24B" if name == "converted" else "#BAB0AC") for name in labels]
    fig = go.Figure(go.Sankey(
        arrangement="snap",
        node=dict(label=labels, color=colors, pad=12, thickness=16,
                  customdata=[("outcome" if p == "end" else f"stage step {p}") for p, _ in nodes],
                  hovertemplate="%{label} (%{customdata}): %{value:,} journeys<extra></extra>"),
        link=dict(source=[link[0] for link in links], target=[link[1] for link in links], value=[link[2] for link in links],
                  color=[_rgba(stage_color.get(link[3], "#BAB0AC"), 0.35) for link in links],
                  hovertemplate="%{source.label} → %{target.label}: %{value:,} journeys<extra></extra>"),
    ))
    return _layout(fig, height=520)


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def journey_types_over_time(con):
    import plotly.graph_objects as go

    span_days = con.execute("select date_diff('day', min(started_at), max(started_at)) from marts.journeys").fetchone()[0] \
        if warehouse.table_exists(con, "marts.journeys") else None
    grain = "week" if span_days is not None and span_days <= 180 else "month"
    df = _frame(con, f"""select date_trunc('{grain}', started_at)::date as period, journey_type, count(*) as n_journeys
                         from marts.journeys group by all order by period""", "marts.journeys")
    fig = go.Figure()
    for journey_type, color in JOURNEY_TYPE_COLORS.items():
        part = df[df["journey_type"] == journey_type]
        fig.add_trace(go.Bar(x=part["period"], y=part["n_journeys"], name=journey_type, marker=dict(color=color),
                             hovertemplate=f"{grain} of %{{x|%Y-%m-%d}}: %{{y:,}} {journey_type}<extra></extra>"))
    fig.update_layout(barmode="stack", xaxis_title=f"{grain} the journey started", yaxis_title="journeys",
                      legend_traceorder="normal")
    return _layout(fig)


def conversion_by_first_channel(con):
    import plotly.graph_objects as go

    df = _frame(con, """select breakdown_value as channel, n_journeys, n_converted_journeys, conversion_rate
                        from marts.conversion
                        where period_grain = 'all' and breakdown = 'first_channel'
                        order by conversion_rate desc""", "marts.conversion")
    fig = go.Figure(go.Bar(x=df["channel"], y=df["conversion_rate"], marker=dict(color="#54A24B"),
                           text=[f"{r:.0%}<br>n={n:,}" for r, n in zip(df["conversion_rate"], df["n_journeys"])],
                           textposition="outside",
                           customdata=df[["n_converted_journeys", "n_journeys"]],
                           hovertemplate="%{x}: %{y:.1%} (%{customdata[0]:,} of %{customdata[1]:,} journeys)"
                                         "<extra></extra>"))
    fig.update_yaxes(tickformat=".0%", range=[0, min(1.0, float(df["conversion_rate"].max()) * 1.25 + 0.02)],
                     title="conversion rate")
    fig.update_xaxes(title="channel of the journey's first touchpoint")
    return _layout(fig)


def cohort_heatmap(con):
    import plotly.graph_objects as go

    df = _frame(con, """select strftime(cohort_month, '%Y-%m') as cohort, months_since_acquisition, n_customers,
                               retention_rate
                        from marts.cohort_retention where breakdown = 'overall'
                        order by cohort_month, months_since_acquisition""", "marts.cohort_retention")
    grid = df.pivot(index="cohort", columns="months_since_acquisition", values="retention_rate")
    sizes = df.groupby("cohort")["n_customers"].max()
    labels = [f"{c} (n={sizes[c]:,})" for c in grid.index]
    text = [[("" if pd.isna(v) else f"{v:.0%}") for v in row] for row in grid.to_numpy()]
    fig = go.Figure(go.Heatmap(z=grid.to_numpy(), x=[f"M{m}" for m in grid.columns], y=labels, text=text,
                               texttemplate="%{text}", colorscale="Blues", zmin=0, zmax=1,
                               colorbar=dict(title="retained", tickformat=".0%"),
                               hovertemplate="%{y}, %{x}: %{z:.1%} retained<extra></extra>"))
    fig.update_yaxes(autorange="reversed", title="acquisition cohort")
    fig.update_xaxes(title="months since acquisition", side="top")
    return _layout(fig, height=max(300, 60 + 34 * len(grid)))


SEGMENT_ORDER = ("b2b", "b2c", "all")
SEGMENT_COLORS = {"b2b": "#B279A2", "b2c": "#72B7B2", "all": "#4C78A8"}


def clv_distribution(con):
    """One histogram per CLV segment (b2b, b2c; 'all' when fitted without personas), side by side, each
    on its own log axis: B2B accounts are worth ~200x a B2C customer, so one histogram of both would
    show two humps of different customers as one distribution."""
    import numpy as np
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    segment = "coalesce(clv_segment, 'all')" if _has_column(con, "marts.customer_value", "clv_segment") else "'all'"
    df = _frame(con, f"""select {segment} as segment, predicted_clv_12m, clv_method from marts.customer_value
                         where predicted_clv_12m is not null""", "marts.customer_value")
    currency = _currency(con, "marts.customer_value")
    segments = sorted(df["segment"].unique(), key=lambda s: (SEGMENT_ORDER.index(s) if s in SEGMENT_ORDER else 9, s))
    parts = {s: df[df["segment"] == s] for s in segments}
    if all((part["predicted_clv_12m"] <= 0).all() for part in parts.values()):
        raise EmptySection("every predicted CLV is 0")
    titles = [f"{s}: {len(part):,} customers ({', '.join(sorted(part['clv_method'].unique()))})"
              for s, part in parts.items()]
    fig = make_subplots(rows=1, cols=len(segments), subplot_titles=titles, horizontal_spacing=0.08)
    for col, (name, part) in enumerate(parts.items(), start=1):
        values = part["predicted_clv_12m"].to_numpy(dtype=float)
        positive = values[values > 0]
        n_zero = int((values <= 0).sum())
        xref = "x domain" if col == 1 else f"x{col} domain"
        if n_zero:
            fig.add_annotation(text=f"{n_zero:,} at 0 not shown", xref=xref, yref="paper", x=1, y=1.0,
                               yanchor="top", showarrow=False, font=dict(size=11, color="#616e7c"))
        if len(positive) == 0:
            continue
        # CLV is heavy-tailed within a segment too: bin on a log scale.
        fig.add_trace(go.Histogram(x=np.log10(positive), nbinsx=30, name=name,
                                   marker=dict(color=SEGMENT_COLORS.get(name, "#4C78A8")),
                                   hovertemplate=f"{name}: %{{y:,}} customers<extra></extra>"), row=1, col=col)
        low, high = int(np.floor(np.log10(positive.min()))), int(np.ceil(np.log10(positive.max())))
        ticks = list(range(low, high + 1))
        fig.update_xaxes(tickvals=ticks, ticktext=[f"{10 ** t:,.0f}" for t in ticks],
                         title=f"predicted 12-month CLV ({currency}), log scale", row=1, col=col)
        for q, dash, side in ((0.5, "dash", "top left"), (0.9, "dot", "top right")):  # apart when close
            v = float(np.quantile(values, q))
            if v > 0:
                fig.add_vline(x=float(np.log10(v)), line=dict(color="#333", dash=dash, width=1), row=1, col=col,
                              annotation_text=f"p{int(q * 100)} {v:,.0f}", annotation_position=side)
    fig.update_yaxes(title="customers", row=1, col=1)
    return _layout(fig, showlegend=False)


def satisfaction_trend(con):
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    df = _frame(con, """select dimension_value as month, n_nps_responses, nps, nps_margin_of_error,
                               n_csat_responses, csat, csat_margin_of_error, n_ces_responses, ces, ces_margin_of_error
                        from marts.satisfaction where dimension = 'month' and dimension_value <> '(none)'
                        order by month""", "marts.satisfaction")
    fig = make_subplots(rows=1, cols=3, subplot_titles=("NPS (points, -100..100)", "CSAT (share satisfied)",
                                                        "CES (1-7, lower is easier)"), horizontal_spacing=0.08)
    for col, (metric, color, fmt) in enumerate((("nps", "#4C78A8", ".0f"), ("csat", "#54A24B", ".0%"),
                                                ("ces", "#F58518", ".2f")), start=1):
        plus, minus = clipped_error_bars(df[metric], df[f"{metric}_margin_of_error"], *SCALES[metric])
        fig.add_trace(go.Scatter(x=df["month"], y=df[metric], mode="lines+markers", name=metric.upper(),
                                 line=dict(color=color),
                                 error_y=dict(type="data", symmetric=False, array=plus, arrayminus=minus,
                                              visible=True, thickness=1),
                                 customdata=df[[f"n_{metric}_responses", f"{metric}_margin_of_error"]].to_numpy(),
                                 hovertemplate=f"%{{x}}: %{{y:{fmt}}} ± %{{customdata[1]:{fmt}}} "
                                               "(n=%{customdata[0]:,})<extra></extra>"),
                      row=1, col=col)
    fig.update_yaxes(tickformat=".0%", row=1, col=2)
    return _layout(fig, showlegend=False)


def attribution_by_model(con):
    import plotly.graph_objects as go

    df = _frame(con, """select model, dimension_value as channel, share, conversions, revenue
                        from marts.attribution where dimension = 'channel'""", "marts.attribution")
    currency = _currency(con, "marts.attribution")
    channels = list(df.groupby("channel")["share"].mean().sort_values(ascending=False).index)
    fig = go.Figure()
    palette = ["#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2"]
    models = [m for m in MODEL_ORDER if m in set(df["model"])] + sorted(set(df["model"]) - set(MODEL_ORDER))
    for color, model in zip(palette * 3, models):
        part = df[df["model"] == model].set_index("channel").reindex(channels)
        fig.add_trace(go.Bar(x=channels, y=part["share"], name=model, marker=dict(color=color),
                             customdata=part[["conversions", "revenue"]].fillna(0).to_numpy(),
                             hovertemplate=f"{model}, %{{x}}: %{{y:.1%}} of conversions "
                                           f"(%{{customdata[0]:,.1f}}; revenue {currency} %{{customdata[1]:,.0f}})"
                                           "<extra></extra>"))
    fig.update_layout(barmode="group")
    fig.update_yaxes(tickformat=".0%", title="share of conversions credited")
    return _layout(fig)


SECTIONS = (
    ("funnel", "Stage funnel and drop-off", "marts.stage_funnel",
     "Journeys that reached each stage of the active stage model (a journey reaches a stage when its furthest "
     "stage is that one or later), and the share of them that went no further.", stage_funnel),
    ("sankey", "Stage transitions", "marts.journey_steps, marts.journeys",
     f"How journeys move between stages: each column is a journey's next stage step (touchpoints in the same "
     f"stage in a row are one step; unmapped event types are skipped), for its first {STAGE_FLOW_STEPS} stage steps, "
     "then whether the journey converted. Backward flows are returns to an earlier stage.", stage_flow),
    ("journey-types", "Journey types over time", "marts.journeys",
     "Journeys by the period they started in and by shape: linear, branching, cyclical or complex.",
     journey_types_over_time),
    ("conversion", "Conversion by first-touch channel", "marts.conversion",
     "Share of journeys that converted, by the channel of their first touchpoint, over all periods.",
     conversion_by_first_channel),
    ("retention", "Cohort retention", "marts.cohort_retention",
     "Share of each acquisition cohort (month of the first conversion) still retained at the end of each month "
     "since; the latest month is measured at the as-of date.", cohort_heatmap),
    ("clv", "Predicted customer lifetime value", "marts.customer_value",
     "Distribution of the 12-month predicted CLV per customer, one histogram per segment (B2B and B2C are "
     "different customers, fitted separately), each on a log scale; dashed line median, dotted line 90th "
     "percentile. In the reporting currency.", clv_distribution),
    ("satisfaction", "NPS, CSAT and CES by month", "marts.satisfaction",
     "Survey scores by month of the response, with 95% margins of error (cut at the ends of each scale); read "
     "months with few responses with their margin.", satisfaction_trend),
    ("attribution", "Attribution by model", "marts.attribution",
     "Share of conversions each channel is credited with under six attribution models.", attribution_by_model),
    ("journey-map", "Journey map per persona", "marts.journey_map, marts.stage_value_at_stake, marts.emotion_curve",
     "Stages as rows; per stage its most-travelled touchpoints (share of the stage's journeys), the journeys that "
     "reached it, the dwell until the next touchpoint, satisfaction measured after it (95% margins), pain points "
     "with their evidence, and the predicted 12-month value of the customers whose journey stopped there.",
     report_journey_map.journey_map_pages),
    ("emotion-curve", "Emotion curve", "marts.emotion_curve",
     "Satisfaction by stage and persona, from the survey answers that rate a touchpoint of the stage, with 95% "
     "margins of error; a stage nobody rated is a gap.", report_journey_map.emotion_curve),
    ("invest", "Where to invest", "marts.stage_value_at_stake",
     "Predicted 12-month customer value put at stake by the journeys that stopped at each stage: a drop-off weighted "
     "by value rather than by heads. A customer puts their own predicted value at stake, a prospect the mean of "
     "their persona's customers; a person who came back since puts none.",
     report_journey_map.where_to_invest),
    ("survival", "Subscription survival", "marts.retention_projection",
     "Share of each plan's subscriptions still active after each renewal period (Kaplan-Meier, solid), and the "
     "shifted-beta-geometric model's projection (dashed), which continues past the longest tenure seen.",
     report_journey_map.subscription_survival),
)


# --------------------------------------------------------------------------- page

@dataclass(frozen=True)
class Kpi:
    label: str
    value: str
    note: str = ""
    """Under the value: the number of responses a score is computed from ('n=1,234')."""


def _kpis(con) -> list[Kpi]:
    def one(sql: str, table: str):
        if not warehouse.table_exists(con, table):
            return None
        return con.execute(sql).fetchone()

    kpis = []
    row = one("select count(*), avg(is_converted::int) from marts.journeys", "marts.journeys")
    if row and row[0]:
        kpis += [Kpi("journeys", f"{row[0]:,}"), Kpi("converted", f"{row[1]:.1%}")]
        # One tile per currency, never a sum across them (the marts are in the reporting currency;
        # a mart without a currency column cannot say what its revenue is in).
        if _has_column(con, "marts.journeys", "currency"):
            for currency, revenue in con.execute("""select currency, sum(revenue) from marts.journeys
                                                    where revenue is not null group by currency order by currency""").fetchall():
                kpis.append(Kpi("revenue", f"{currency} {revenue:,.0f}"))
    row = one("select count(*) from marts.customer_value", "marts.customer_value")
    if row:
        kpis.append(Kpi("customers", f"{row[0]:,}"))
    row = one("""select nps, n_nps_responses, csat, n_csat_responses, ces, n_ces_responses
                 from marts.satisfaction where dimension = 'all'""", "marts.satisfaction")
    if row:
        for label, value, n, fmt in (("NPS", row[0], row[1], "{:.0f}"), ("CSAT", row[2], row[3], "{:.0%}"),
                                     ("CES", row[4], row[5], "{:.2f}")):
            kpis.append(Kpi(label, "–" if value is None else fmt.format(value), f"n={n or 0:,}"))
    return kpis


def _stage_model(con) -> str | None:
    if not warehouse.table_exists(con, "marts.stage_model"):
        return None
    row = con.execute("select any_value(stage_model) from marts.stage_model").fetchone()
    return row[0] if row else None


def _period(con) -> str:
    if not warehouse.table_exists(con, "marts.journeys"):
        return ""
    first, last = con.execute("select min(started_at), max(ended_at) from marts.journeys").fetchone()
    return f"{first:%Y-%m-%d} to {last:%Y-%m-%d}" if first and last else ""


def render_sections(con: duckdb.DuckDBPyConnection, progress: bool = False) -> list[Section]:
    from tqdm import tqdm

    sections = [Section(key, title, source, explain, draw) for key, title, source, explain, draw in SECTIONS]
    for section in tqdm(sections, desc="report", unit="chart", disable=not progress):
        try:
            fig = section.draw(con)
        except EmptySection as empty:
            section.note = str(empty)
            continue
        if isinstance(fig, report_journey_map.HtmlBlock):
            section.html, section.kind = fig.html, "table"
            continue
        fig.update_layout(title=None)
        section.html = fig.to_html(full_html=False, include_plotlyjs=False, include_mathjax=False,
                                   div_id=f"chart-{section.key}", post_script=_POST_SCRIPT,
                                   config={"displaylogo": False, "responsive": True})
    return sections


def _section_html(s: Section) -> str:
    body = f'<div class="chart-frame">{s.html}</div>' if s.html else \
        f'<p class="empty">Nothing to draw: {html.escape(s.note)}.</p>'
    state = s.kind if s.html else "empty"
    rendered = "true" if s.kind == "table" and s.html else "false"
    return (f'<section id="{s.key}" class="chart" data-chart="{s.key}" data-state="{state}" data-rendered="{rendered}">\n'
            f"<h2>{html.escape(s.title)}</h2>\n<p class=\"explain\">{html.escape(s.explain)}</p>\n{body}\n"
            f'<p class="source">Source: <code>{html.escape(s.source)}</code></p>\n</section>')


def _kpi_html(k: Kpi) -> str:
    note = f'<div class="kpi-note">{html.escape(k.note)}</div>' if k.note else ""
    return (f'<div class="kpi" data-kpi="{html.escape(k.label)}"><div class="kpi-value">{html.escape(k.value)}</div>'
            f'{note}<div class="kpi-label">{html.escape(k.label)}</div></div>')


def template() -> string.Template:
    return string.Template(resources.files("journeys").joinpath("report_template.html").read_text(encoding="utf-8"))


def build_report(settings: Settings, out: Path, progress: bool = False) -> list[Section]:
    """Writes the report to `out` (atomically: a reader never sees half a file); returns its sections."""
    from plotly.offline import get_plotlyjs

    con = warehouse.reader(settings)
    try:
        sections = render_sections(con, progress)
        kpis, period, stage_model = _kpis(con), _period(con), _stage_model(con)
    finally:
        con.close()
    published = dt.datetime.fromtimestamp(settings.published_path.stat().st_mtime, dt.UTC)
    subtitle = " · ".join(p for p in (f"data {period}" if period else "", f"published {published:%Y-%m-%d %H:%M} UTC",
                                      f"{stage_model} stage model" if stage_model else "") if p)
    page = template().substitute(
        title="Customer journeys report",
        subtitle=html.escape(subtitle),
        generated_at=f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        plotlyjs=get_plotlyjs().replace("</script", "<\\/script"),
        kpis="\n".join(_kpi_html(k) for k in kpis),
        toc="\n".join(f'<li><a href="#{s.key}">{html.escape(s.title)}</a></li>' for s in sections),
        sections="\n\n".join(_section_html(s) for s in sections),
        n_charts=str(sum(1 for s in sections if s.html)),
        chart_keys=html.escape(json.dumps([s.key for s in sections if s.html])),
    )
    atomic_files.write_text(Path(out), page)
    return sections
