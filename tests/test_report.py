"""`journeys report`: one self-contained HTML page, checked the way a person would — opened in a
real (headless) browser, which must run it without a script error and draw every chart, and
printed to PDF on A4 and Letter paper.

Two warehouses: a simulated population built by the real transforms (every chart, EUR and USD
customers), and a hand-made one whose survey margins run past the ends of their scales."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser

import duckdb
import pytest

from journeys import warehouse
from journeys.report import SECTIONS, build_report
from journeys.settings import Settings
from tests.browser import PAPER_POINTS, dump_dom, printed_links, render
from tests.sample_warehouse import build_sample_warehouse


class Dom(HTMLParser):
    """The rendered page's <html> attributes, chart sections, KPI tiles, and plotly's drawn SVGs per section."""

    def __init__(self):
        super().__init__()
        self.html: dict = {}
        self.sections: dict[str, dict] = {}
        self.svgs: dict[str, int] = {}
        self.tables: dict[str, int] = {}
        self.map_rows: list[dict] = []
        self._map_persona: str | None = None
        self._cell: dict | None = None
        self.kpis: list[dict] = []
        self._section: str | None = None
        self._depth = 0
        self._kpi_part: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.html = a
        if tag == "div" and "data-kpi" in a:
            self.kpis.append({"label": a["data-kpi"]})
        if tag == "div" and (a.get("class") or "").startswith("kpi-") and self.kpis:
            self._kpi_part = a["class"].removeprefix("kpi-")
        if tag == "section" and "data-chart" in a:
            self._section, self._depth = a["data-chart"], 0
            self.sections[self._section] = a
        if self._section:
            if tag == "section":
                self._depth += 1
            if tag == "svg" and "main-svg" in (a.get("class") or ""):
                self.svgs[self._section] = self.svgs.get(self._section, 0) + 1
            if tag == "table":
                self.tables[self._section] = self.tables.get(self._section, 0) + 1
        if tag == "div" and "data-persona" in a:
            self._map_persona = a["data-persona"]
        if tag == "tr" and "data-stage" in a:
            self.map_rows.append({"persona": self._map_persona, "stage": a["data-stage"],
                                  "rank": a.get("data-invest-rank")})
        if tag == "td" and "data-column" in a and self.map_rows:
            self._cell = {"column": a["data-column"], "text": ""}
            self.map_rows[-1][a["data-column"]] = self._cell

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data
        if self._kpi_part:
            self.kpis[-1][self._kpi_part] = data.strip()
            self._kpi_part = None

    def handle_endtag(self, tag):
        if tag == "td":
            self._cell = None
        if self._section and tag == "section":
            self._depth -= 1
            if self._depth == 0:
                self._section = None


def parse(dom_text: str) -> Dom:
    dom = Dom()
    dom.feed(dom_text)
    return dom


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    home = tmp_path_factory.mktemp("report") / "home"
    settings = build_sample_warehouse(home, customers=150, days=60)
    out = home.parent / "report.html"
    with warehouse.exclusive_lock(settings):  # a build holds the working file: the report does not care
        sections = build_report(settings, out)
    return out, sections, settings


@pytest.fixture(scope="module")
def report_dom(report, tmp_path_factory):
    return parse(dump_dom(report[0], tmp_path_factory.mktemp("dom")))


def test_report_is_self_contained(report):
    """Nothing is fetched from the network: no external scripts, styles, images or fonts."""
    out, sections, _ = report
    page = out.read_text(encoding="utf-8")
    assert [s.key for s in sections if not s.html] == []
    assert not re.search(r"<(script|img|iframe)[^>]+src=", page, re.I)
    assert not re.search(r"<link[^>]+href=", page, re.I)
    assert not re.search(r"@import|url\(\s*['\"]?https?:", page, re.I)
    assert page.count("Plotly.newPlot(") == len(chart_keys(sections))


def chart_keys(sections) -> list[str]:
    """The sections plotly draws (the journey map is a table)."""
    return [s.key for s in sections if s.kind == "chart"]


def test_report_renders_every_chart_in_a_browser(report, report_dom):
    """Headless Chromium runs the page with no script error and plotly draws all eleven charts; the
    journey map is there as tables."""
    dom, sections = report_dom, report[1]
    assert json.loads(dom.html.get("data-js-errors", "missing")) == []
    assert list(dom.sections) == [key for key, *_ in SECTIONS]
    charts = chart_keys(sections)
    assert len(charts) == 11 and "journey-map" not in charts
    not_drawn = [key for key in charts if dom.sections[key].get("data-rendered") != "true" or not dom.svgs.get(key)]
    assert not_drawn == []
    assert dom.sections["journey-map"].get("data-state") == "table" and dom.tables.get("journey-map")


# ---- the tiles ---------------------------------------------------------------------------------------

def test_the_revenue_tile_is_in_the_reporting_currency(report, report_dom):
    """The simulated customers pay in EUR and USD: the tile shows one EUR figure, the orders' amounts
    converted at their rates (sum of original_revenue x fx_rate), not the sum of both currencies' numbers."""
    *_, settings = report
    con = duckdb.connect(str(settings.published_path), read_only=True)
    try:
        converted, naive, currencies = con.execute(
            """select sum(original_revenue * fx_rate), sum(original_revenue), list(distinct original_currency)
               from marts.journey_steps where original_revenue is not null""").fetchone()
    finally:
        con.close()
    assert sorted(currencies) == ["EUR", "USD"] and abs(converted - naive) > 100
    revenue = [k for k in report_dom.kpis if k["label"] == "revenue"]
    assert revenue == [{"label": "revenue", "value": f"EUR {converted:,.0f}"}]


def test_nps_csat_and_ces_tiles_show_how_many_responses_they_rest_on(report, report_dom):
    """Each survey tile says n: the responses with that score (marts.satisfaction, dimension all)."""
    *_, settings = report
    con = duckdb.connect(str(settings.published_path), read_only=True)
    try:
        n = dict(zip(("NPS", "CSAT", "CES"), con.execute(
            "select n_nps_responses, n_csat_responses, n_ces_responses from marts.satisfaction where dimension = 'all'"
        ).fetchone()))
    finally:
        con.close()
    tiles = {k["label"]: k.get("note") for k in report_dom.kpis if k["label"] in n}
    assert tiles == {label: f"n={count:,}" for label, count in n.items()}


# ---- the charts ----------------------------------------------------------------------------------------

SCALE_PROBE = """
var gd = document.getElementById('chart-satisfaction');
return gd.calcdata.map(function (trace) {
  return {name: trace[0].trace.name,
          low: Math.min.apply(null, trace.map(function (p) { return p.ys; }).filter(isFinite)),
          high: Math.max.apply(null, trace.map(function (p) { return p.yh; }).filter(isFinite))};
});
"""


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    """A published warehouse holding only what three sections read: two months of survey scores whose
    95% margins reach past their scales (CSAT 95% ± 12 points, CES 1.2 ± 0.5, NPS 90 ± 20), and
    three b2b and four b2c customers' CLV."""
    home = tmp_path_factory.mktemp("crafted") / "home"
    settings = Settings(home=home)
    settings.published_dir.mkdir(parents=True)
    con = duckdb.connect(str(settings.published_path))
    try:
        con.execute("create schema marts")
        con.execute("""create table marts.satisfaction as select * from (values
            ('all', 'all', 80, 70, 40.0, 10.0, 75, 0.8, 0.05, 60, 2.0, 0.2),
            ('month', '2025-01', 40, 30, 90.0, 20.0, 35, 0.95, 0.12, 25, 1.2, 0.5),
            ('month', '2025-02', 40, 40, -95.0, 10.0, 40, 0.05, 0.08, 35, 6.8, 0.4)
        ) as t(dimension, dimension_value, n_responses, n_nps_responses, nps, nps_margin_of_error,
               n_csat_responses, csat, csat_margin_of_error, n_ces_responses, ces, ces_margin_of_error)""")
        con.execute("""create table marts.customer_value as select * from (values
            ('b2b', 8000.0, 'historical_fallback', 'EUR'), ('b2b', 12000.0, 'historical_fallback', 'EUR'),
            ('b2b', 30000.0, 'historical_fallback', 'EUR'), ('b2c', 20.0, 'bg_nbd_gamma_gamma', 'EUR'),
            ('b2c', 45.0, 'bg_nbd_gamma_gamma', 'EUR'), ('b2c', 60.0, 'bg_nbd_gamma_gamma', 'EUR'),
            ('b2c', 0.0, 'bg_nbd_gamma_gamma', 'EUR')
        ) as t(clv_segment, predicted_clv_12m, clv_method, currency)""")
    finally:
        con.close()
    out = home.parent / "crafted.html"
    build_report(settings, out)
    return out


def test_survey_error_bars_stop_at_the_ends_of_their_scales(crafted, tmp_path):
    """CSAT 95% ± 12 points is drawn up to 100%, not 107%; CES 1.2 ± 0.5 down to 1, not 0.7;
    NPS 90 ± 20 up to 100 and -95 ± 10 down to -100 (as plotly computed the bars in the browser)."""
    _, bars = render(crafted, tmp_path, SCALE_PROBE)
    assert {b["name"]: (round(b["low"], 6), round(b["high"], 6)) for b in bars} == {
        "NPS": (-100.0, 100.0), "CSAT": (0.0, 1.0), "CES": (1.0, 7.0)}


CLV_PROBE = """
var gd = document.getElementById('chart-clv');
return gd._fullData.map(function (t) { return {name: t.name, xaxis: t.xaxis, n: t._length}; });
"""


def test_b2b_and_b2c_clv_are_separate_distributions(crafted, tmp_path):
    """B2B accounts (thousands) and B2C customers (tens) are two histograms on their own axes, each of
    its segment's customers with a CLV above 0; the b2c customer at 0 is counted, not drawn."""
    dom, traces = render(crafted, tmp_path, CLV_PROBE)
    assert traces == [{"name": "b2b", "xaxis": "x", "n": 3}, {"name": "b2c", "xaxis": "x2", "n": 3}]
    assert "b2b: 3 customers" in dom and "b2c: 4 customers" in dom and "1 at 0 not shown" in dom
    assert "predicted 12-month CLV (EUR)" in dom


TOOLBAR_PROBE = """
var covered = {};
document.querySelectorAll('section.chart').forEach(function (section) {
  var bar = section.querySelector('.modebar');
  if (!bar) return;
  var b = bar.getBoundingClientRect(), hits = [];
  section.querySelectorAll('svg.main-svg text').forEach(function (text) {
    var r = text.getBoundingClientRect();
    if (!text.textContent.trim() || !r.width || text.closest('.hoverlayer')) return;
    if (r.left < b.right && r.right > b.left && r.top < b.bottom && r.bottom > b.top) hits.push(text.textContent);
  });
  covered[section.dataset.chart] = hits;
});
return covered;
"""


def test_the_plotly_toolbar_covers_no_chart_title_or_text(report, tmp_path):
    """The toolbar (top right, on hover) sits above every subplot title, legend and annotation."""
    _, covered = render(report[0], tmp_path, TOOLBAR_PROBE)
    assert set(covered) == set(chart_keys(report[1]))
    assert {chart: texts for chart, texts in covered.items() if texts} == {}


@pytest.mark.parametrize("paper", ["A4", "letter"])
def test_printing_keeps_every_chart_whole_on_one_page(report, tmp_path, paper):
    """Printed from a desktop-sized window, each chart's top-left and bottom-right corners land on the
    same page, inside the paper: no chart is cut at the right edge or split across pages."""
    links, box = printed_links(report[0], tmp_path, paper)
    width, height = PAPER_POINTS[paper]
    assert box[2:] == pytest.approx([width, height], abs=1)
    charts = chart_keys(report[1])
    missing = [f"{c}/{corner}" for c in charts for corner in ("top-left", "bottom-right") if f"{c}/{corner}" not in links]
    assert missing == [], "corners printed off the paper"
    for chart in charts:
        (top_page, top), (bottom_page, bottom) = links[f"{chart}/top-left"], links[f"{chart}/bottom-right"]
        assert top_page == bottom_page, f"{chart} is split across pages {top_page} and {bottom_page}"
        assert 0 <= top[0] and bottom[2] <= width and 0 <= bottom[1] and top[3] <= height, chart



# ---- the journey map ---------------------------------------------------------------------------------

def _published(settings, sql: str, *params) -> list[tuple]:
    con = duckdb.connect(str(settings.published_path), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def test_journey_map_page_per_persona_as_the_marts_hold_it(report, report_dom):
    """One table per persona (b2b, b2c), a row per stage its journeys reached, in stage order; each
    row's reach is the mart's n_stage_journeys and its value-at-stake rank the stage's rank."""
    *_, settings = report
    rows = report_dom.map_rows
    assert sorted({r["persona"] for r in rows}) == ["b2b", "b2c"]
    for persona in ("b2b", "b2c"):
        expected = _published(settings, """select stage, max(n_stage_journeys) from marts.journey_map where persona = ?
                                           group by stage, stage_rank order by stage_rank""", persona)
        shown = [r for r in rows if r["persona"] == persona]
        assert [r["stage"] for r in shown] == [stage for stage, _ in expected]
        assert [r["reach"]["text"] for r in shown] == [f"{n:,} journeys" for _, n in expected]
        ranks = dict(_published(settings, "select stage, rank from marts.stage_value_at_stake where persona = ?",
                                persona))
        assert {r["stage"]: int(r["rank"]) for r in shown} == ranks
    assert all(r["top touchpoints"]["text"] and r["emotion"]["text"] for r in rows)


MAP_FIT_PROBE = """
var out = [];
document.querySelectorAll('table.map').forEach(function (table) {
  var r = table.getBoundingClientRect();
  out.push({right: r.right, width: r.width, page: document.documentElement.clientWidth});
});
return out;
"""


def test_journey_map_tables_fit_the_window(report, tmp_path):
    """Each map table is laid out within the page's width: nothing to scroll sideways."""
    _, tables = render(report[0], tmp_path, MAP_FIT_PROBE)
    assert len(tables) == 2
    assert all(t["width"] > 0 and t["right"] <= t["page"] + 1 for t in tables), tables


def _journeys_map(settings, tmp_path, *args) -> subprocess.CompletedProcess:
    env = {**os.environ, "JOURNEYS_HOME": str(settings.home)}
    env.pop("JOURNEYS_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "journeys.cli", "map", *args], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=300)


def test_journeys_map_prints_both_personas(report, tmp_path):
    """`journeys map` with no option prints the b2b and the b2c map, every stage with its six columns."""
    *_, settings = report
    done = _journeys_map(settings, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Journey map: b2b" in done.stdout and "Journey map: b2c" in done.stdout
    stages = [stage for (stage,) in _published(settings, "select stage from marts.stages order by stage_rank")]
    b2c = done.stdout.split("Journey map: b2c")[1]
    reached = [stage for (stage,) in _published(
        settings, "select distinct stage from marts.journey_map where persona = 'b2c'")]
    assert [s for s in stages if f"== {s} ==" in b2c] == [s for s in stages if s in reached]
    for column in ("top touchpoints", "reach", "dwell", "emotion", "pain points", "value at stake"):
        assert b2c.count(f"  {column} ") == len(reached)


def test_journeys_map_csv_and_json_are_the_marts_rows(report, tmp_path):
    """--format csv and json give marts.journey_map's rows of the persona, NULL as an empty field and null."""
    *_, settings = report
    expected = _published(settings, "select count(*), sum(n_journeys), count(csat) from marts.journey_map "
                                     "where persona = 'b2c'")[0]
    as_csv = _journeys_map(settings, tmp_path, "--persona", "b2c", "--format", "csv")
    assert as_csv.returncode == 0, as_csv.stderr
    table = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert (len(table), sum(int(r["n_journeys"]) for r in table), sum(1 for r in table if r["csat"])) == expected
    as_json = _journeys_map(settings, tmp_path, "--persona", "b2c", "--format", "json")
    records = json.loads(as_json.stdout)
    assert (len(records), sum(r["n_journeys"] for r in records), sum(r["csat"] is not None for r in records)) == expected
    assert {r["persona"] for r in records} == {"b2c"}


def test_journeys_map_html_file_and_unknown_persona(report, tmp_path):
    """--out writes the HTML map (a table per persona); an unknown persona is an error naming the map's."""
    *_, settings = report
    out = tmp_path / "maps" / "map.html"
    done = _journeys_map(settings, tmp_path, "--format", "html", "--out", str(out))
    assert done.returncode == 0, done.stderr
    page = out.read_text(encoding="utf-8")
    assert page.count('<table class="map">') == 2 and 'data-persona="b2b"' in page and 'data-persona="b2c"' in page
    wrong = _journeys_map(settings, tmp_path, "--persona", "martians")
    assert wrong.returncode == 1 and "no journey map for persona 'martians'" in wrong.stderr
    assert "b2b" in wrong.stderr and wrong.stdout == ""
