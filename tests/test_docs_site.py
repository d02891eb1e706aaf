"""`journeys docs`: the dbt docs site, opened from disk in a real headless browser, shows a model's
page (its grain and columns) and draws the lineage graph."""

from __future__ import annotations

import html
import json
import re

import pytest

from tests.browser import _with, dump_dom
from tests.sample_warehouse import build_sample_warehouse

pytestmark = pytest.mark.slow

PROBE = """<script>location.hash = '#!/model/model.customer_journeys.journeys%s';
window.addEventListener('load', function () { setTimeout(function () {
  var painted = 0;
  document.querySelectorAll('canvas').forEach(function (c) {
    if (!c.width || !c.height) return;
    var d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (var i = 3; i < d.length; i += 4) if (d[i]) painted++;
  });
  document.documentElement.setAttribute('data-probe', JSON.stringify({text: document.body.innerText, painted: painted}));
}, 4000); });</script>"""


def _open(index, tmp_path, lineage: bool) -> dict:
    page = _with(index, f"probe-{lineage}.html", head=PROBE % ("?g_v=1" if lineage else ""))
    found = re.search(r'<html[^>]*\sdata-probe="([^"]*)"', dump_dom(page, tmp_path))
    assert found, "the page's script did not run"
    return json.loads(html.unescape(found.group(1)))


def test_docs_site_shows_a_model_page_and_the_lineage_graph_offline(tmp_path):
    from journeys.docs_site import generate_docs

    settings = build_sample_warehouse(tmp_path / "home", customers=40, days=30)
    index = generate_docs(settings)
    assert index == settings.published_dir / "docs" / "index.html"
    assert not re.search(r"<(?:script|link)[^>]+(?:src|href)=\"https?://", index.read_text()), "loads from the network"

    page = _open(index, tmp_path, lineage=False)
    assert "One row per journey" in page["text"]            # the model's grain, from journeys.yml
    assert "classification_reason" in page["text"]          # its documented columns
    assert page["painted"] == 0                              # the graph is closed

    graph = _open(index, tmp_path, lineage=True)
    assert graph["painted"] > 1000                           # the lineage graph drew its nodes
