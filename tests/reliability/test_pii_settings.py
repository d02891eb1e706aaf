"""The PII field-name rule and the file line limit are settings: a deployment's own column names
(here German `Kontakt_EMail` is already covered; `Rückruf` is not) are hashed once configured."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import duckdb

from journeys.schemas.contract import pii_salt

SCRIPT = """
import sys
from pathlib import Path
from journeys.pipelines.loader import load_file
from journeys.settings import load_settings
result = load_file(load_settings(), Path(sys.argv[1]))
print(result.n_loaded, result.n_dead_lettered)
"""


def load(home, csv, yaml_text: str) -> tuple[int, int]:
    """Load `csv` in a fresh process (the rule is read once per process) with `yaml_text` as journeys.yaml."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "journeys.yaml").write_text(yaml_text)
    env = {"JOURNEYS_HOME": str(home), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(csv)], env=env, capture_output=True, text=True, check=True)
    loaded, dead = out.stdout.split()
    return int(loaded), int(dead)


def test_a_configured_phone_field_name_is_hashed_and_never_stored(tmp_path):
    """`rueckruf` (callback number) is no phone field by default; with a pattern for it, the value is
    hashed into phone_hash (digits only, + kept) and the raw number appears nowhere in the file."""
    csv = tmp_path / "e.csv"
    csv.write_text("event_id,occurred_at,channel,event_type,customer_id,Rueckruf\n"
                   "e1,2025-03-01 10:00:00,call_center,support_call,c1,+49 30 1234 5678\n")
    default = tmp_path / "default"
    load(default, csv, "{}\n")
    con = duckdb.connect(str(default / "warehouse.duckdb"), read_only=True)
    assert con.execute("select phone_hash, properties['Rueckruf'] from raw.touchpoints").fetchone() == (
        None, "[phone redacted]")  # free-text redaction still applies without the setting
    con.close()

    configured = tmp_path / "configured"
    load(configured, csv, "pii_phone_field_patterns: ['(?:mobile)?phone(?:number)?', 'rueckruf(?:nummer)?']\n")
    con = duckdb.connect(str(configured / "warehouse.duckdb"), read_only=True)
    phone_hash, properties = con.execute("select phone_hash, properties from raw.touchpoints").fetchone()
    con.close()
    assert phone_hash == hashlib.sha256((pii_salt() + "+493012345678").encode()).hexdigest()
    assert "Rueckruf" not in properties
    assert b"1234 5678" not in (configured / "warehouse.duckdb").read_bytes()


def test_the_line_limit_is_a_setting(tmp_path):
    """file_max_line_bytes: 2048 dead-letters a 3,000-byte line that the 1 MiB default loads."""
    csv = tmp_path / "e.csv"
    csv.write_text("event_id,occurred_at,channel,event_type,customer_id,note\n"
                   f"e1,2025-03-01 10:00:00,web,page_view,c1,{'x' * 3000}\n"
                   "e2,2025-03-01 11:00:00,web,page_view,c1,short\n")
    assert load(tmp_path / "default", csv, "{}\n") == (2, 0)
    assert load(tmp_path / "limited", csv, "file_max_line_bytes: 2048\n") == (1, 1)
