"""The report's journey-map pages: the map per persona (a table, laid out as CX teams draw it), the
emotion curve under it, where to invest (value at stake by stage), and subscription survival with
the sBG projection. Each draw function reads published marts only; journey_map_view lays out the map.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import duckdb

from journeys import journey_map_view
from journeys.report_figures import SCALES, EmptySection, clipped_error_bars, currency_of, frame, layout

PERSONA_COLORS = {"b2b": "#B279A2", "b2c": "#72B7B2", "all": "#4C78A8", "(none)": "#9D9D9D"}


@dataclass(frozen=True)
class HtmlBlock:
    """A section drawn as HTML rather than a chart (the map's tables)."""

    html: str


def journey_map_pages(con: duckdb.DuckDBPyConnection) -> HtmlBlock:
    """One map per persona, each starting a printed page."""
    try:
        return HtmlBlock("\n".join(journey_map_view.table_html(p, journey_map_view.stage_rows(con, p))
                                   for p in journey_map_view.default_personas(con)))
    except journey_map_view.NoJourneyMap as missing:
        raise EmptySection(str(missing)) from None


def _colors(personas) -> dict[str, str]:
    return {p: PERSONA_COLORS.get(p, "#4C78A8") for p in personas}


def emotion_curve(con: duckdb.DuckDBPyConnection):
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    df = frame(con, """select persona, stage, stage_rank, n_nps_responses, nps, nps_margin_of_error,
                              n_csat_responses, csat, csat_margin_of_error, n_ces_responses, ces, ces_margin_of_error
                       from marts.emotion_curve order by persona, stage_rank""", "marts.emotion_curve")
    df = df[df["persona"].isin(journey_map_view.shown_personas(df["persona"]))]
    stage_order = list(df.sort_values("stage_rank")["stage"].drop_duplicates())
    fig = make_subplots(rows=1, cols=3, subplot_titles=("NPS (points)", "CSAT (share satisfied)", "CES (lower is easier)"),
                        horizontal_spacing=0.08)
    for persona, color in _colors(sorted(set(df["persona"]))).items():
        part, label = df[df["persona"] == persona], html.escape(persona)
        for col, metric in enumerate(("nps", "csat", "ces"), start=1):
            fmt = journey_map_view.SCORE_FORMAT[metric]
            plus, minus = clipped_error_bars(part[metric], part[f"{metric}_margin_of_error"], *SCALES[metric])
            fig.add_trace(go.Scatter(
                x=part["stage"], y=part[metric], mode="lines+markers", name=label, legendgroup=persona,
                showlegend=col == 1, line=dict(color=color), connectgaps=False,
                error_y=dict(type="data", symmetric=False, array=plus, arrayminus=minus, visible=True, thickness=1),
                customdata=part[[f"n_{metric}_responses"]].to_numpy(),
                text=[journey_map_view.plus_minus(margin, fmt) for margin in part[f"{metric}_margin_of_error"]],
                hovertemplate=f"{label}, %{{x}}: %{{y:{fmt}}}%{{text}} (n=%{{customdata[0]:,}})"
                              "<extra></extra>"), row=1, col=col)
    fig.update_xaxes(categoryorder="array", categoryarray=stage_order)
    fig.update_yaxes(tickformat=".0%", row=1, col=2)
    # The legend under the charts: above them it would sit on the subplot titles.
    return layout(fig, height=460).update_layout(legend=dict(orientation="h", yanchor="top", y=-0.3, x=0),
                                                 margin=dict(b=110))


def where_to_invest(con: duckdb.DuckDBPyConnection):
    import plotly.graph_objects as go

    df = frame(con, """select persona, stage, stage_rank, n_dropped, n_customers_at_stake, value_at_stake, rank
                       from marts.stage_value_at_stake order by persona, stage_rank""", "marts.stage_value_at_stake")
    df = df[df["persona"].isin(journey_map_view.shown_personas(df["persona"]))]
    currency = currency_of(con, "marts.stage_value_at_stake")
    stage_order = list(df.sort_values("stage_rank")["stage"].drop_duplicates())
    fig = go.Figure()
    for persona, color in _colors(sorted(set(df["persona"]))).items():
        part, label = df[df["persona"] == persona], html.escape(persona)
        fig.add_trace(go.Bar(
            x=part["stage"], y=part["value_at_stake"], name=label, marker=dict(color=color),
            customdata=part[["n_dropped", "n_customers_at_stake", "rank"]].to_numpy(),
            hovertemplate=f"{label}, %{{x}}: {currency} %{{y:,.0f}} at stake; %{{customdata[0]:,}} journeys stopped "
                          "(%{customdata[1]:,} customers), rank %{customdata[2]}<extra></extra>"))
    fig.update_layout(barmode="group")
    fig.update_xaxes(categoryorder="array", categoryarray=stage_order)
    fig.update_yaxes(title=f"predicted 12-month value at stake ({currency})")
    return layout(fig)


def subscription_survival(con: duckdb.DuckDBPyConnection):
    import plotly.graph_objects as go

    df = frame(con, """select plan, period, period_days, observed_survival, projected_survival, n_at_risk
                       from marts.retention_projection order by plan, period""", "marts.retention_projection")
    fig = go.Figure()
    palette = ["#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2"]
    for color, (plan, part) in zip(palette * 4, df.groupby("plan", sort=True)):
        days = part["period_days"].iloc[0]
        fig.add_trace(go.Scatter(
            x=part["period"], y=part["observed_survival"], mode="lines+markers", name=f"{plan} observed",
            line=dict(color=color, shape="hv"), customdata=part[["n_at_risk"]].to_numpy(),
            hovertemplate=f"{plan}, period %{{x}} ({days:.0f} d each): %{{y:.1%}} still subscribed "
                          "(n at risk %{customdata[0]:,})<extra></extra>"))
        if part["projected_survival"].notna().any():
            fig.add_trace(go.Scatter(
                x=part["period"], y=part["projected_survival"], mode="lines", name=f"{plan} sBG projection",
                line=dict(color=color, dash="dash"),
                hovertemplate=f"{plan}, period %{{x}}: %{{y:.1%}} projected<extra></extra>"))
    fig.update_xaxes(title="renewal periods since the start")
    fig.update_yaxes(title="share still subscribed", tickformat=".0%", range=[0, 1.02])
    return layout(fig)
