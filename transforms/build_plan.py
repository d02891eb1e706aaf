"""Builds warehouse tables without Dagster, in the order the dbt manifest and the Python steps'
declared reads imply: consecutive dbt models go to dbt in one call, each Python step runs as soon
as what it reads is built. Tests and benchmarks use it; `journeys build` and the Dagster UI get the
same order from Dagster's own plan over the same assets.
"""

from __future__ import annotations

import graphlib
import logging
import time
from collections.abc import Iterable

import duckdb

from journeys.settings import Settings
from journeys.transforms import dbt_project
from journeys.transforms.python_steps import STEPS, PythonStep

log = logging.getLogger(__name__)

Node = tuple[str, str]
"""("dbt", "schema.table") or ("python", step name)."""


def dbt_models(manifest) -> dict[str, list[str]]:
    """Every dbt model as `schema.table`, with the `schema.table`s it reads (models and sources)."""
    models: dict[str, list[str]] = {}
    for node in manifest.nodes.values():
        if node.resource_type != "model":
            continue
        reads = []
        for uid in node.depends_on.nodes:
            if uid in manifest.nodes:
                parent = manifest.nodes[uid]
                reads.append(f"{parent.schema}.{parent.alias or parent.name}")
            elif uid in manifest.sources:
                source = manifest.sources[uid]
                reads.append(f"{source.schema}.{source.identifier or source.name}")
        models[f"{node.schema}.{node.alias or node.name}"] = reads
    return models


def _graph(manifest) -> tuple[dict[Node, set[Node]], dict[str, Node]]:
    models = dbt_models(manifest)
    producer: dict[str, Node] = {table: ("dbt", table) for table in models}
    for step in STEPS:
        producer.update({table: ("python", step.name) for table in step.tables})
    graph: dict[Node, set[Node]] = {("dbt", t): {producer[r] for r in reads if r in producer} for t, reads in models.items()}
    graph.update({("python", s.name): {producer[r] for r in s.deps if r in producer} for s in STEPS})
    return graph, producer


def plan(settings: Settings, tables: Iterable[str] | None = None) -> list[PythonStep | list[str]]:
    """The build in order: a list of `schema.table`s is one dbt call, a PythonStep one step. Only
    the given tables are built (all when None); what they read must exist already."""
    graph, producer = _graph(dbt_project.manifest(settings))
    wanted = set(graph) if tables is None else {producer[_known(t, producer)] for t in tables}
    sorter = graphlib.TopologicalSorter(graph)
    sorter.prepare()
    steps = {s.name: s for s in STEPS}
    ordered: list[PythonStep | list[str]] = []
    pending: set[Node] = set()
    while sorter.is_active():
        pending |= set(sorter.get_ready())
        # Every ready dbt model first (one dbt call), then every ready Python step: fewest dbt calls.
        batch = sorted(n for n in pending if n[0] == "dbt") or sorted(pending)
        for node in batch:
            sorter.done(node)
            pending.discard(node)
            if node not in wanted:
                continue
            if node[0] == "python":
                ordered.append(steps[node[1]])
            elif ordered and isinstance(ordered[-1], list):
                ordered[-1].append(node[1])
            else:
                ordered.append([node[1]])
    return ordered


def with_upstream(settings: Settings, tables: Iterable[str]) -> set[str]:
    """`tables` and every table they read, directly or not (raw excluded: only ingestion writes it)."""
    graph, producer = _graph(dbt_project.manifest(settings))
    writes: dict[Node, set[str]] = {}
    for table, node in producer.items():
        writes.setdefault(node, set()).add(table)
    seen: set[Node] = set()
    todo = [producer[_known(t, producer)] for t in tables]
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(graph[node])
    return {table for node in seen for table in writes[node]}


def _known(table: str, producer: dict[str, Node]) -> str:
    if table not in producer:
        raise KeyError(f"{table} is neither a dbt model nor written by a Python step")
    return table


def build(con: duckdb.DuckDBPyConnection, settings: Settings, tables: Iterable[str] | None = None) -> dict[str, int]:
    """Build `tables` (all when None) on the writer `con`, in plan order; returns rows per table."""
    counts: dict[str, int] = {}
    for step in plan(settings, tables):
        started = time.perf_counter()
        if isinstance(step, list):
            result = dbt_project.run_build(con, settings, [t.split(".")[1] for t in step])
            counts.update({run.qualified: run.rows for run in result.built})
            result.raise_for_failures()
        else:
            counts.update(step.build(con, settings).rows)
        log.info("%s in %.2fs", step if isinstance(step, list) else step.name, time.perf_counter() - started)
    return counts
