"""`journeys report`: one self-contained HTML page, checked the way a person would — opened in a
real (headless) browser, which must run it without a script error and draw every chart."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from journeys import warehouse
from journeys.report import SECTIONS, build_report
from tests.sample_warehouse import build_sample_warehouse

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("chromium is not installed: the report test renders the page in a real browser. "
                    "Install it (Debian: apt-get install -y chromium) and run again.")
    return path


class Dom(HTMLParser):
    """The rendered page's <html> attributes, chart sections, and plotly's drawn SVGs per section."""

    def __init__(self):
        super().__init__()
        self.html: dict = {}
        self.sections: dict[str, dict] = {}
        self.svgs: dict[str, int] = {}
        self._section: str | None = None
        self._depth = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.html = a
        if tag == "section" and "data-chart" in a:
            self._section, self._depth = a["data-chart"], 0
            self.sections[self._section] = a
        if self._section:
            if tag == "section":
                self._depth += 1
            if tag == "svg" and "main-svg" in (a.get("class") or ""):
                self.svgs[self._section] = self.svgs.get(self._section, 0) + 1

    def handle_endtag(self, tag):
        if self._section and tag == "section":
            self._depth -= 1
            if self._depth == 0:
                self._section = None


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    home = tmp_path_factory.mktemp("report") / "home"
    settings = build_sample_warehouse(home, customers=150, days=60)
    out = home.parent / "report.html"
    with warehouse.exclusive_lock(settings):  # a build holds the working file: the report does not care
        sections = build_report(settings, out)
    return out, sections


def test_report_is_self_contained(report):
    """Nothing is fetched from the network: no external scripts, styles, images or fonts."""
    out, sections = report
    page = out.read_text(encoding="utf-8")
    assert [s.key for s in sections if not s.html] == []
    assert not re.search(r"<(script|img|iframe)[^>]+src=", page, re.I)
    assert not re.search(r"<link[^>]+href=", page, re.I)
    assert not re.search(r"@import|url\(\s*['\"]?https?:", page, re.I)
    assert page.count("Plotly.newPlot(") == len(SECTIONS)


def test_report_renders_every_chart_in_a_browser(report, tmp_path):
    """Headless Chromium runs the page with no script error and plotly draws all eight charts."""
    out, _ = report
    result = subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000",
         "--dump-dom", out.resolve().as_uri()],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    dom = Dom()
    dom.feed(result.stdout)
    assert json.loads(dom.html.get("data-js-errors", "missing")) == []
    expected = [key for key, *_ in SECTIONS]
    assert list(dom.sections) == expected
    not_drawn = [key for key in expected if dom.sections[key].get("data-rendered") != "true" or not dom.svgs.get(key)]
    assert not_drawn == []
