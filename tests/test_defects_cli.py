"""The `journeys` command line: help that states defaults, a quiet exit when the reader of a pipe
leaves, and `report --out` saying where it wrote."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from journeys.cli import build_parser
from journeys.cli import main as journeys_main
from journeys.settings import load_settings

OWN_COMMANDS = ("broker", "simulate", "produce", "load", "ingest", "query", "report", "tables", "demo")
"""Every command but funnel (its owner documents its own options)."""


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    [commands] = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(commands.choices)


@pytest.mark.parametrize("command", OWN_COMMANDS)
def test_every_option_has_help_stating_its_default(command):
    """Every option has help, and one that takes a value with a default says `(default: <it>)`."""
    parser = _subparsers()[command]
    options = [a for a in parser._actions if not isinstance(a, argparse._HelpAction)]
    assert [a.dest for a in options if not a.help] == []
    valued = [a for a in options if a.nargs != 0 and a.default is not None]  # flags (nargs 0) state nothing
    stated = [a.dest for a in valued if f"(default: {a.default})" not in a.help]
    assert stated == []


def test_simulate_help_shows_its_defaults():
    """`journeys simulate --help` names 2000 customers, 120 days and seed 7."""
    text = _subparsers()["simulate"].format_help()
    assert "(default: 2000)" in text and "(default: 120)" in text and "(default: 7)" in text


@pytest.fixture
def published_home(tmp_path):
    settings = load_settings(home=tmp_path / "home")
    settings.published_dir.mkdir(parents=True)
    con = duckdb.connect(str(settings.published_path))
    con.execute("create schema marts; create table marts.n as select range as i from range(3)")
    con.close()
    return settings.home


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_a_reader_that_leaves_the_pipe_ends_the_command_quietly(published_home, tmp_path, fmt):
    """`journeys query ... | head -1`: 300,000 rows (megabytes, far more than a pipe holds) and a reader
    that leaves after one line: no error and no traceback on stderr, exit 141 (128 + SIGPIPE, as cat)."""
    env = {**os.environ, "JOURNEYS_HOME": str(published_home)}
    env.pop("JOURNEYS_CONFIG", None)
    proc = subprocess.Popen([sys.executable, "-m", "journeys.cli", "query", "select range as i from range(300000)",
                             "--format", fmt], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path)
    assert proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141
    assert err == ""


def test_report_into_a_missing_folder_says_where_it_wrote(tmp_path, monkeypatch, capsys):
    """--out reports/2025/q1.html with no reports/ folder: the folder is made, and the line names the
    file's absolute path and the folder it created."""
    from types import SimpleNamespace

    from journeys import report

    def fake_report(settings, out, progress=False):
        out.parent.mkdir(parents=True, exist_ok=True)  # as build_report does
        out.write_text("x" * 250_000)
        return [SimpleNamespace(title="Funnel", html="<div></div>", note=""),
                SimpleNamespace(title="Paths", html="", note="no paths yet")]

    monkeypatch.setattr(report, "build_report", fake_report)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JOURNEYS_CONFIG", raising=False)
    assert journeys_main(["report", "--out", "reports/2025/q1.html"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (f"wrote {tmp_path / 'reports/2025/q1.html'} (0.2 MB, created folder {tmp_path / 'reports'}): "
                        "1 of 2 charts")
    assert (tmp_path / "reports/2025/q1.html").is_file()
    assert journeys_main(["report", "--out", str(Path("reports/2025/q1.html"))]) == 0  # now it exists: no folder made
    assert capsys.readouterr().out.splitlines()[0] == f"wrote {tmp_path / 'reports/2025/q1.html'} (0.2 MB): 1 of 2 charts"


def test_funnel_since_that_is_not_a_date_is_one_clear_line(tmp_path, monkeypatch, capsys):
    """`--since yesterday` names the option and what it accepts, in one line, exit 1 (was a raw isoformat error)."""
    from journeys.cli import main as journeys_main

    monkeypatch.setenv("JOURNEYS_HOME", str(tmp_path / "home"))
    assert journeys_main(["funnel", "--steps", "a,b", "--window", "7d", "--since", "yesterday"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--since" in err[0] and "'yesterday'" in err[0] and "isoformat" not in err[0]
