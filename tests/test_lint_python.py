"""The Python code passes ruff as configured in pyproject.toml ([tool.ruff])."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
RUFF = Path(sys.executable).with_name("ruff")


def test_python_is_ruff_clean():
    result = subprocess.run([str(RUFF), "check", "."], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"ruff check . failed (exit {result.returncode}):\n{result.stdout}{result.stderr}"
