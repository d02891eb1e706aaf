"""`journeys docs`: the dbt docs site of the warehouse, as one static HTML file in published/docs/.

dbt's `docs generate --static` writes `static_index.html` with the manifest (models, their
descriptions, columns, tests, lineage) and the catalog (the tables' real columns and types, read
from the working warehouse) inlined, so it opens from disk with no server. It is swapped into
published/docs/ whole (a rename), so a reader never sees half of one site and half of another.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from journeys import warehouse
from journeys.settings import Settings
from journeys.transforms import dbt_project


class DocsError(RuntimeError):
    pass


def generate_docs(settings: Settings) -> Path:
    """Generate the site under the writer lock (the catalog reads the working file); returns index.html."""
    if not settings.warehouse_path.exists():
        raise DocsError(f"no warehouse at {settings.warehouse_path}: run `journeys build` first")
    with warehouse.writer(settings) as con:
        result = dbt_project.invoke(settings, ["docs", "generate", "--static"], dbt_project.dbt_vars(con, settings))
    if not result.success:
        raise DocsError("dbt docs generate failed: " + "; ".join(dbt_project.failures(settings, result)))
    target = dbt_project.dbt_dir(settings.warehouse_path) / "target"
    staging = settings.published_dir / f"docs.tmp-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    shutil.copy(target / "static_index.html", staging / "index.html")
    for artifact in ("manifest.json", "catalog.json"):  # for tools that read dbt's artifacts
        shutil.copy(target / artifact, staging / artifact)
    final = settings.published_dir / "docs"
    previous = settings.published_dir / f"docs.old-{os.getpid()}"
    if final.exists():
        final.rename(previous)
    staging.rename(final)
    shutil.rmtree(previous, ignore_errors=True)
    return final / "index.html"
