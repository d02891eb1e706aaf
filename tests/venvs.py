"""A venv of its own for a tool we test against (an older DuckDB, SQLAlchemy clients, Superset): made
under a folder of the test session, with `pip install` from the package index, as the tool's own
environment would be."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path


def venv_python(folder: Path, requirements: Sequence[str], timeout_s: float = 600) -> Path:
    """The Python of a venv at `folder` with `requirements` installed (made once: an existing one is reused)."""
    python = folder / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
        done = subprocess.run([str(python), "-m", "pip", "install", "-q", *requirements], capture_output=True,
                              text=True, timeout=timeout_s)
        if done.returncode != 0:
            python.unlink()  # not reused half-installed
            raise RuntimeError(f"pip install {' '.join(requirements)} failed:\n{done.stderr[-3000:]}")
    return python
