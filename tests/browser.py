"""A real headless browser for the report tests: Debian's Chromium, driven from the command line.

    dom, probe = render(page, tmp_path, PROBE_JS)      # the rendered DOM, and what a probe script measured
    links = printed_links(page, tmp_path, "A4")        # print to PDF; where the probe links landed

A probe is a JavaScript function body run in the page once it has loaded and plotly has drawn; what
it returns is written, as JSON, to <html data-probe>, which `--dump-dom` hands back. Printing uses
`--print-to-pdf` on a copy of the page with an `@page { size: ... }` rule, so the page is laid out
for that paper exactly as a person's print would be; tiny links at the corners of each chart become
PDF link annotations, whose page and rectangle say where each corner was printed.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--virtual-time-budget=10000"]
WINDOW = (1280, 900)
"""A desktop browser window: the report is drawn at this size before it is printed."""
PAPER_POINTS = {"A4": (595.28, 841.89), "letter": (612.0, 792.0)}


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("chromium is not installed: the report test renders the page in a real browser. "
                    "Install it (Debian: apt-get install -y chromium) and run again.")
    return path


def _run(tmp_path: Path, page: Path, *args: str, width: int = WINDOW[0]) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}",
         f"--window-size={width},{WINDOW[1]}", *args, page.resolve().as_uri()],
        capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def _with(page: Path, name: str, head: str = "", body: str = "") -> Path:
    """A copy of the page with extra markup at the end of its head and body."""
    text = page.read_text(encoding="utf-8")
    copy = page.with_name(name)
    copy.write_text(text.replace("</head>", head + "</head>", 1).replace("</body>", body + "</body>", 1),
                    encoding="utf-8")
    return copy


def dump_dom(page: Path, tmp_path: Path, width: int = WINDOW[0]) -> str:
    return _run(tmp_path, page, "--dump-dom", width=width).stdout


def render(page: Path, tmp_path: Path, probe: str, width: int = WINDOW[0]) -> tuple[str, object]:
    """The rendered DOM and the probe's result (`probe` is the body of a function returning JSON-able data)."""
    script = ("<script>window.addEventListener('load', function () { setTimeout(function () {"
              "var result; try { result = (function () {" + probe + "})(); } catch (e) { result = {error: String(e)}; }"
              "document.documentElement.setAttribute('data-probe', JSON.stringify(result)); }, 200); });</script>")
    dom = dump_dom(_with(page, f"probe-{page.name}", body=script), tmp_path, width)
    found = re.search(r'<html[^>]*\sdata-probe="([^"]*)"', dom)
    assert found, "the probe did not run"
    return dom, json.loads(html.unescape(found.group(1)))


CORNER_LINKS = """<script>
window.addEventListener('load', function () {
  document.querySelectorAll('section.chart').forEach(function (section) {
    var box = section.querySelector('.svg-container'), svg = box && box.querySelector('svg.main-svg');
    if (!svg) return;
    var w = +svg.getAttribute('width'), h = +svg.getAttribute('height');
    [['top-left', 0, 0], ['bottom-right', w - 2, h - 2]].forEach(function (corner) {
      var a = document.createElement('a');
      a.href = 'https://probe.invalid/' + section.dataset.chart + '/' + corner[0];
      a.setAttribute('style', 'position:absolute;display:block;width:2px;height:2px;z-index:9;left:' + corner[1]
                     + 'px;top:' + corner[2] + 'px');
      box.appendChild(a);
    });
  });
});
</script>"""
"""Links at the top-left and bottom-right pixels of each chart's drawing (inside plotly's own box,
so they move and zoom with it). A corner cut off the paper prints no link."""


def printed_links(page: Path, tmp_path: Path, paper: str,
                  width: int = WINDOW[0]) -> tuple[dict[str, tuple[int, list[float]]], list[float]]:
    """Prints the page on `paper` (A4 or letter); returns, per 'chart/corner', its page number and
    rectangle in PDF points (origin bottom left), and the first page's MediaBox."""
    copy = _with(page, f"print-{paper}-{page.name}", head=f"<style>@page {{ size: {paper}; }}</style>",
                 body=CORNER_LINKS)
    pdf = tmp_path / f"report-{paper}.pdf"
    _run(tmp_path, copy, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", width=width)
    data = pdf.read_bytes()
    return pdf_links(data), media_box(data)


def pdf_pages(data: bytes) -> list[bytes]:
    """The page dictionaries of a PDF (uncompressed object syntax, as Chromium writes them), in order."""
    objects = _objects(data)
    kids = [int(n) for body in objects.values() if re.search(rb"/Type\s*/Pages\b", body)
            for n in re.findall(rb"(\d+) 0 R", re.search(rb"/Kids\s*\[([^\]]*)\]", body).group(1))]
    return [objects[n] for n in kids]


def _objects(data: bytes) -> dict[int, bytes]:
    return {int(m.group(1)): m.group(2) for m in re.finditer(rb"(\d+) 0 obj\s*(.*?)endobj", data, re.S)}


def pdf_links(data: bytes) -> dict[str, tuple[int, list[float]]]:
    objects = _objects(data)
    links = {}
    for number, page in enumerate(pdf_pages(data), start=1):
        annots = re.search(rb"/Annots\s*\[([^\]]*)\]", page)
        for ref in re.findall(rb"(\d+) 0 R", annots.group(1)) if annots else []:
            annot = objects[int(ref)]
            uri = re.search(rb"/URI\s*\((https://probe\.invalid/[^)]*)\)", annot)
            if uri:
                rect = [float(v) for v in re.search(rb"/Rect\s*\[([^\]]*)\]", annot).group(1).split()]
                links[uri.group(1).decode().removeprefix("https://probe.invalid/")] = (number, rect)
    return links


def media_box(data: bytes) -> list[float]:
    return [float(v) for v in re.search(rb"/MediaBox\s*\[([^\]]*)\]", pdf_pages(data)[0]).group(1).split()]
