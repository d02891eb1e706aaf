"""Identity stitching: identifiers seen together on a touchpoint belong to one person.

Connected components of the identifier graph are persons, with the merge protection CDPs use:
placeholders link nothing (`int_identifiers.is_placeholder`), a value seen with too many
customer_ids (`is_shared`) links nothing, and two different customer_ids are never merged: a link
that would join them is refused. Refusals depend on the order links are applied in, so they are
applied in the order they were first seen (first_seen_at, then first_event_id): the earlier
evidence wins, and the result does not depend on anything but the data.

Speed: components without two customer_ids cannot hold a conflict, so scipy's connected components
settle almost every identifier in C; only components with two or more customer_ids go through the
order-dependent union-find in Python.

A person's id is 'p_' + md5 of its anchor identifier — its customer_id if it has one, else its
smallest (identifier_type, identifier_value) — so it stays the same across rebuilds while the
person's identifiers do not change, whatever else is added to the data.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import duckdb
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from journeys.schemas.contract import IDENTIFIERS
from journeys.settings import Settings
from journeys.transforms import tables

ZEROS_PATTERN = r"[\-0_.: ]*0[\-0_.: ]*"
"""All-zero values such as '0000' or '00000000-0000-0000-0000-000000000000' (a zeroed device id)."""

PRIORITY = ("customer_id", "loyalty_id", "email_hash", "phone_hash", "anonymous_id")
"""Most durable first: which identifier decides a touchpoint's person when its identifiers disagree."""

assert sorted(PRIORITY) == sorted(IDENTIFIERS)


def placeholder_pattern(placeholders) -> str:
    """One regular expression (matched against the lower-cased value) for every placeholder."""
    words = sorted({str(p).strip().lower() for p in placeholders})
    return "(?:" + "|".join(re.escape(w) for w in words) + ")|" + ZEROS_PATTERN


def identity_params(settings: Settings) -> dict:
    """The identity settings as SQL values (dbt vars): the placeholder pattern, the per-type limits and
    the durability order (PRIORITY, read by macros/identifiers_by_durability.sql)."""
    limits = settings.identifier_person_limits
    unknown = set(limits) - set(IDENTIFIERS)
    if unknown:
        raise ValueError(f"identifier_person_limits names unknown identifier type(s) {sorted(unknown)}; known: {IDENTIFIERS}")
    return {
        "identifiers_by_durability": list(PRIORITY),
        "identifier_placeholder_pattern": placeholder_pattern(settings.identifier_placeholders),
        "identifier_person_limits": [
            {"identifier_type": t, "person_limit": None if limits.get(t) is None else int(limits[t])} for t in IDENTIFIERS
        ],
    }


def _union_find_with_customers(n: int, is_customer: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Roots after applying links (a[i], b[i]) in order, refusing any that would put two customer
    nodes in one component. Plain Python: only runs on the few components that need it."""
    parent = list(range(n))
    size = [1] * n
    customer = [i if c else -1 for i, c in enumerate(is_customer.tolist())]

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for u, v in zip(a.tolist(), b.tolist()):
        ru, rv = find(u), find(v)
        if ru == rv or (customer[ru] >= 0 and customer[rv] >= 0):
            continue
        if size[ru] < size[rv]:
            ru, rv = rv, ru
        parent[rv] = ru
        size[ru] += size[rv]
        if customer[ru] < 0:
            customer[ru] = customer[rv]
    return np.fromiter((find(x) for x in range(n)), dtype=np.int64, count=n)


def stitch(identifiers: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """Each identifier's person, named by the person's anchor identifier.

    identifiers: identifier_key (ordered like (identifier_type, identifier_value)), is_customer_id,
    is_shared; placeholders left out. links: identifier_key_a, identifier_key_b, first_seen_at,
    first_event_id. Returns identifier_key, anchor_key: one row per identifier.
    """
    keys = identifiers["identifier_key"].to_numpy(np.int64)
    is_customer = identifiers["is_customer_id"].to_numpy(bool)
    is_shared = identifiers["is_shared"].to_numpy(bool)
    n = len(keys)
    if n == 0:
        return pd.DataFrame({"identifier_key": keys, "anchor_key": keys})
    position = np.full(int(keys.max()) + 1, -1, dtype=np.int64)
    position[keys] = np.arange(n)
    key_a = links["identifier_key_a"].to_numpy(np.int64)
    key_b = links["identifier_key_b"].to_numpy(np.int64)
    in_range = (key_a < len(position)) & (key_b < len(position))
    a = np.where(in_range, position[np.minimum(key_a, len(position) - 1)], -1)
    b = np.where(in_range, position[np.minimum(key_b, len(position) - 1)], -1)
    usable = (a >= 0) & (b >= 0)
    usable[usable] &= ~is_shared[a[usable]] & ~is_shared[b[usable]]
    a, b, kept_links = a[usable], b[usable], links[usable]

    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    n_components, component = connected_components(graph, directed=False)
    component = component.astype(np.int64)

    customers_per_component = np.bincount(component, weights=is_customer, minlength=n_components)
    conflicted = customers_per_component[component] >= 2
    if conflicted.any():
        nodes = np.nonzero(conflicted)[0]
        local = np.full(n, -1, dtype=np.int64)
        local[nodes] = np.arange(len(nodes))
        in_conflict = conflicted[a]
        order = (
            kept_links[in_conflict]
            .assign(_a=keys[a[in_conflict]], _b=keys[b[in_conflict]])
            .sort_values(["first_seen_at", "first_event_id", "_a", "_b"], kind="stable")
        )
        roots = _union_find_with_customers(
            len(nodes),
            is_customer[nodes],
            local[position[order["_a"].to_numpy(np.int64)]],
            local[position[order["_b"].to_numpy(np.int64)]],
        )
        component[nodes] = n_components + roots

    # Anchor: the component's customer_id if any (at most one by construction), else its smallest key.
    by_component = np.lexsort((keys, ~is_customer, component))
    sorted_component = component[by_component]
    first = np.ones(n, dtype=bool)
    first[1:] = sorted_component[1:] != sorted_component[:-1]
    anchor_of = np.zeros(int(component.max()) + 1, dtype=np.int64)
    anchor_of[sorted_component[first]] = keys[by_component][first]
    return pd.DataFrame({"identifier_key": keys, "anchor_key": anchor_of[component]})


KEYED_IDENTIFIERS = "_keyed_identifiers"
"""int_identifiers numbered for the stitcher, for the build of the map."""


def build_int_identity_map(con: duckdb.DuckDBPyConnection, settings: Settings,
                           before_commit: Callable[[], None] | None = None) -> int:
    """One row per non-placeholder identifier value: the person it belongs to. Identifiers seen
    together are one person, except that shared values (over their type's person limit) merge
    nothing and two customer_ids are never merged; a shared value is a profile of its own.
    columns:
      identifier_type: customer_id, anonymous_id, email_hash, phone_hash or loyalty_id
      identifier_value: the value as staged
      person_id: 'p_' + md5 of the person's anchor identifier (type:value): its customer_id if any, else its smallest identifier
      is_shared: the value is over its type's person limit: it only identifies a profile of its own
      is_anchor: this identifier is the one the person_id is derived from
    """
    # The stitcher works on integers: number the values in (identifier_type, identifier_value)
    # order, which decides the anchor of a person without a customer_id (its smallest identifier).
    con.execute(f"""
        create or replace temp table {KEYED_IDENTIFIERS} as
        select row_number() over (order by identifier_type, identifier_value) as identifier_key, *
        from intermediate.int_identifiers
        """)
    try:
        identifiers = con.sql(
            f"""
            select identifier_key, identifier_type = 'customer_id' as is_customer_id, is_shared
            from {KEYED_IDENTIFIERS}
            where not is_placeholder
            """
        ).df()
        links = con.sql(
            f"""
            select a.identifier_key as identifier_key_a, b.identifier_key as identifier_key_b,
                   links.first_seen_at, links.first_event_id
            from intermediate.int_identity_links as links
            join {KEYED_IDENTIFIERS} as a
                on a.identifier_type = links.identifier_type_a and a.identifier_value = links.identifier_value_a
            join {KEYED_IDENTIFIERS} as b
                on b.identifier_type = links.identifier_type_b and b.identifier_value = links.identifier_value_b
            where not (a.is_shared or b.is_shared or a.is_placeholder or b.is_placeholder)
            """
        ).df()
        anchors = stitch(identifiers, links)
        with tables.registered(con, "_identity_anchors", anchors):
            return tables.replace_table(
                con,
                "intermediate.int_identity_map",
                f"""
                select
                    identifier.identifier_type,
                    identifier.identifier_value,
                    'p_' || md5(anchor.identifier_type || ':' || anchor.identifier_value) as person_id,
                    identifier.is_shared,
                    anchors.identifier_key = anchors.anchor_key as is_anchor
                from _identity_anchors as anchors
                join {KEYED_IDENTIFIERS} as identifier on identifier.identifier_key = anchors.identifier_key
                join {KEYED_IDENTIFIERS} as anchor on anchor.identifier_key = anchors.anchor_key
                """,
                doc=tables.parse_doc(build_int_identity_map.__doc__),
                before_commit=before_commit,
            )
    finally:
        con.execute(f"drop table if exists {KEYED_IDENTIFIERS}")
