"""The quality suites, one module per layer. Each module lists its gates in `GATES`; a gate is a
query plus the Great Expectations expectations its rows must meet (see quality/gates.py)."""

from __future__ import annotations

from collections import defaultdict

from journeys.quality.gates import Gate
from journeys.quality.suites import currency, cx, journey_model, metrics, raw, staging


def all_gates() -> list[Gate]:
    gates = [*raw.GATES, *raw.DEAD_LETTER_GATES, *staging.GATES, *journey_model.GATES, *metrics.GATES, *cx.GATES, *currency.GATES]
    seen: set[tuple[str, str]] = set()
    for g in gates:
        if (g.table, g.name) in seen:
            raise ValueError(f"two gates named {g.name} on {g.table}")
        seen.add((g.table, g.name))
    return gates


def gates_by_table(gates: list[Gate] | None = None) -> dict[str, list[Gate]]:
    grouped: dict[str, list[Gate]] = defaultdict(list)
    for g in all_gates() if gates is None else gates:
        grouped[g.table].append(g)
    return dict(grouped)


def gates_for(table: str) -> list[Gate]:
    return gates_by_table().get(table, [])
