"""Release check of the Evidence site: install, extract the sources, build, and look at every built
page in headless Chromium the way a person would.

    python bi/evidence/check_site.py            # after `journeys demo` (or any build) in the repo root

Steps: `npm install` (the versions package-lock.json pins), `npm run sources` (reads journeys_home/published/warehouse.duckdb, or
EVIDENCE_SOURCE__journeys__filename), `npm run build` (Evidence's strict build: a query or
component error fails it), then serves build/ on a local port and loads each page in Chromium
(Debian: apt-get install -y chromium). A page passes when the browser logs no console error or uncaught exception and the
page drew a chart or a table. Exits non-zero on the first failure, saying which.

Needs what Evidence needs at build time and in the browser: its DuckDB-Wasm fetches the parquet
extension from extensions.duckdb.org, so the machine must reach that host (README "Evidence").
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

PROJECT = Path(__file__).resolve().parent
PAGES = ["", "journey-types", "cohort-retention", "attribution", "journey-map"]
SOURCES_TIMEOUT_S = 600
"""`npm run sources` hangs, rather than fails, where extensions.duckdb.org cannot be reached."""


def run(*command: str, timeout: float = 900, why_slow: str = "") -> None:
    """`command` in the project; exits saying so when it fails or takes longer than `timeout` (its
    likely cause `why_slow`, when known)."""
    print("$", " ".join(command), flush=True)
    process = subprocess.Popen(command, cwd=PROJECT, start_new_session=True)  # npm's children in one group
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        sys.exit(f"{' '.join(command)} did not finish in {timeout:.0f} s{why_slow}")
    if code != 0:
        sys.exit(f"{' '.join(command)} failed with exit code {code}")


def serve(folder: Path) -> http.server.ThreadingHTTPServer:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


REPORT_ERRORS = ("<script>(function () { var log = console.log.bind(console);"
                 " console.error = function () { log('PAGE-ERROR ' + Array.from(arguments).join(' ')); };"
                 " window.addEventListener('error', function (e) { log('PAGE-ERROR ' + e.message); });"
                 " window.addEventListener('unhandledrejection', function (e) { log('PAGE-ERROR ' + e.reason); });"
                 " })();</script>")
"""Chromium logs every console message at the same level: this marks errors and uncaught exceptions."""


def site_copy(build: Path, into: Path) -> Path:
    """build/ copied with REPORT_ERRORS first in every page's head (the build itself is left as it is)."""
    site = into / "site"
    shutil.copytree(build, site)
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        page.write_text(re.sub(r"<head[^>]*>", lambda m: m.group(0) + REPORT_ERRORS, text, count=1), encoding="utf-8")
    return site


def check_page(url: str, profile: Path) -> list[str]:
    """What is wrong with the page as Chromium draws it (empty when nothing is)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        sys.exit("chromium is not installed (Debian: apt-get install -y chromium)")
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", f"--user-data-dir={profile}",
         "--enable-logging=stderr", "--v=0", "--virtual-time-budget=20000", "--window-size=1280,900",
         "--dump-dom", url], capture_output=True, text=True, timeout=120)
    problems = [line for line in done.stderr.splitlines() if "CONSOLE" in line and "PAGE-ERROR" in line]
    if done.returncode != 0:
        problems.append(f"chromium exited with {done.returncode}")
    if not re.search(r"<canvas|<svg[^>]*echarts|<table", done.stdout):
        problems.append("no chart or table was drawn")
    return problems


def main() -> int:
    run("npm", "install")
    run("npm", "run", "sources", timeout=SOURCES_TIMEOUT_S,
        why_slow=": Evidence's DuckDB-Wasm may be waiting for extensions.duckdb.org (the parquet extension), "
                 "which this machine must reach")
    run("npm", "run", "build")
    failures = 0
    with tempfile.TemporaryDirectory() as scratch:
        server = serve(site_copy(PROJECT / "build", Path(scratch)))
        for page in PAGES:
            url = f"http://127.0.0.1:{server.server_address[1]}/{page}"
            problems = check_page(url, Path(scratch) / "chromium-profile")
            print(("FAIL " if problems else "ok   ") + url, *problems, sep="\n  ")
            failures += bool(problems)
        server.shutdown()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
