"""The quality gates' thresholds are settings: set in journeys.yaml or the environment as
`quality_<name>`, validated like every setting, and read by the gates."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from journeys import warehouse
from journeys.pipelines.raw_writer import create_raw_tables
from journeys.quality.gates import WARN, run_gates
from journeys.quality.suites.raw import DEAD_LETTER_GATES
from journeys.quality.thresholds import Thresholds, thresholds
from journeys.settings import SettingsError, load_settings


@pytest.fixture
def config(tmp_path, env_clean, monkeypatch):
    """Writes journeys.yaml in a clean directory with no JOURNEYS_* variables."""
    monkeypatch.chdir(tmp_path)
    return lambda text: (tmp_path / "journeys.yaml").write_text(text)


def test_thresholds_are_set_in_the_file_and_the_environment(config):
    """The file sets the unmapped share to 0.1, the environment the trailing window to 14 days; the
    others keep their defaults (a drop is below 0.5 of the median, sample 5 rows)."""
    config("quality_unmapped_event_share_max: 0.1\n")
    limits = thresholds(load_settings(env={"JOURNEYS_QUALITY_VOLUME_TRAILING_DAYS": "14"}))
    assert (limits.unmapped_event_share_max, limits.volume_trailing_days) == (0.1, 14)
    assert (limits.volume_drop_ratio_min, limits.sample_rows) == (0.5, 5)


def test_a_tolerance_in_exponent_notation_is_a_number(config):
    """YAML 1.1 reads 1e-9 (no dot) as text; the rule still takes it as the number 1e-9."""
    config("quality_share_sum_tolerance: 1e-9\n")
    assert thresholds(load_settings(env={})).share_sum_tolerance == 1e-9


def test_the_defaults_are_the_settings_defaults():
    """thresholds() with no settings: 0.05 unmapped, 0.5 drop ratio, 28 days, median 20, 0.02 dead
    letters, 1e-6 share tolerance, 5 sample rows."""
    assert dataclasses.astuple(thresholds()) == (0.05, 0.5, 28, 20.0, 0.02, 1e-6, 5)
    assert [f.name for f in dataclasses.fields(Thresholds)] == [
        "unmapped_event_share_max", "volume_drop_ratio_min", "volume_trailing_days", "volume_min_median",
        "dead_letter_share_max", "share_sum_tolerance", "sample_rows"]


@pytest.mark.parametrize("name, value, reason", [
    ("quality_dead_letter_share_max", "1.5", "must be a number between 0 and 1, got 1.5"),
    ("quality_volume_trailing_days", "0", "must be an integer >= 1, got 0"),
    ("quality_sample_rows", "lots", "must be an integer >= 1, got 'lots'"),
    ("quality_share_sum_tolerance", "-1e-6", "must be a number >= 0, got '-1e-6'"),  # YAML 1.1 reads it as text
])
def test_a_bad_threshold_is_refused_naming_the_file(config, tmp_path, name, value, reason):
    """A share above 1, an empty window, a word for a count, a negative tolerance: one line each."""
    config(f"{name}: {value}\n")
    with pytest.raises(SettingsError) as error:
        load_settings(env={})
    assert str(error.value) == f"journeys.yaml ({(tmp_path / 'journeys.yaml').resolve()}): {name}: {reason}"


def _loads(settings, *dead_lettered: int):
    """Runs the dead-letter gate over loads of 200 messages each, with these many dead-lettered."""
    with warehouse.writer(settings) as con:
        create_raw_tables(con)
        for i, n_dead in enumerate(dead_lettered):
            started = dt.datetime(2025, 3, 1, 12, i)
            con.execute("insert into raw.load_runs values (?, 'file', 'f.csv', ?, ?, 200, ?, ?)",
                        [f"load-{i}", started, started, 200 - n_dead, n_dead])
        (result,) = run_gates(con, DEAD_LETTER_GATES, settings)
    return result


def test_the_dead_letter_gate_reads_its_threshold_from_the_settings(config, tmp_path):
    """10 of 200 dead-lettered is 0.05: above the default 0.02 (a warning), within a configured 0.06."""
    result = _loads(load_settings(env={}, home=tmp_path / "a"), 10)
    assert (result.passed, result.severity, result.failing_rows) == (False, WARN, 1)
    config("quality_dead_letter_share_max: 0.06\n")
    assert _loads(load_settings(env={}, home=tmp_path / "b"), 10).passed


def test_the_sample_shows_as_many_rows_as_the_setting_says(config, tmp_path):
    """Three loads over the limit (10, 20, 30 of 200) with quality_sample_rows 1: one row shown, two more counted."""
    result = _loads(load_settings(env={"JOURNEYS_QUALITY_SAMPLE_ROWS": "1"}, home=tmp_path / "home"), 10, 20, 30)
    assert result.failing_rows == 3
    assert result.sample.endswith("… and 2 more") and len(result.sample.splitlines()) == 3  # header, row, more
