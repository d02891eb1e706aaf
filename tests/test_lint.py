"""The SQL keeps the house style: sqlfluff, configured in .sqlfluff (and the nested .sqlfluff files of
transforms/macros/ and pipelines/sql/), finds nothing in the models, the macros, the ingest's SQL or the Evidence sources."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SQLFLUFF = Path(sys.executable).with_name("sqlfluff")


@pytest.mark.slow
def test_sql_is_sqlfluff_clean():
    """`sqlfluff lint transforms/models transforms/macros pipelines/sql bi/evidence/sources` exits 0
    (about two minutes)."""
    result = subprocess.run(
        [str(SQLFLUFF), "lint", "transforms/models", "transforms/macros", "pipelines/sql", "bi/evidence/sources"],
        cwd=REPO, capture_output=True, text=True,
    )
    assert result.returncode == 0, f"sqlfluff found violations:\n{result.stdout}\n{result.stderr}"
