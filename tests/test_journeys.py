"""Journeys end to end: cutting, figures, late events, idempotent rebuilds, stage models, the model list."""

import datetime as dt
import hashlib
import re

import pytest

from journeys.transforms.stage_models import (
    StageModelError,
    active_model,
    builtin_models,
    unmapped_event_types,
    unmapped_share,
    user_models,
)
from tests.helpers import build, events, journey_tables, one, rows, settings, warehouse

LAYERS = ("raw", "staging", "intermediate", "marts")


def journeys(con):
    return rows(con, "select * from marts.journeys order by started_at")


# ---- cutting ------------------------------------------------------------------------------------

def test_a_gap_of_exactly_journey_gap_days_keeps_one_journey(tmp_path):
    """Two touchpoints 90 days apart (the default) are one journey."""
    con = warehouse(tmp_path)
    events(con, [{"occurred_at": "2024-03-01 09:00"}, {"occurred_at": "2024-05-30 09:00"}])
    build(con)
    assert [j["n_touchpoints"] for j in journeys(con)] == [2]


def test_a_longer_gap_starts_a_new_journey(tmp_path):
    """90 days and one second later is a new journey."""
    con = warehouse(tmp_path)
    events(con, [{"occurred_at": "2024-03-01 09:00"}, {"occurred_at": "2024-05-30 09:00:01"}])
    build(con)
    assert [j["n_touchpoints"] for j in journeys(con)] == [1, 1]


def test_the_gap_comes_from_settings(tmp_path):
    """With journey_gap_days=1, touchpoints two days apart are two journeys."""
    con = warehouse(tmp_path)
    events(con, [{"occurred_at": "2024-03-01 09:00"}, {"occurred_at": "2024-03-03 09:00"}])
    build(con, journey_gap_days=1)
    assert len(journeys(con)) == 2


def test_journey_id_is_md5_of_person_and_start(tmp_path):
    """journey_id = md5('<person_id>|<started_at to the microsecond>')."""
    con = warehouse(tmp_path)
    events(con, ["web page_view"])
    build(con)
    journey = one(con, "select journey_id, person_id from marts.journeys")
    assert journey["journey_id"] == hashlib.md5(f"{journey['person_id']}|2024-03-01T09:00:00.000000".encode()).hexdigest()


def test_every_person_has_their_own_journeys(tmp_path):
    """Interleaved touchpoints of c1 and c2 make one journey each."""
    con = warehouse(tmp_path)
    events(con, [{"customer_id": "c1"}, {"customer_id": "c2"}, {"customer_id": "c1"}, {"customer_id": "c2"}])
    build(con)
    assert sorted((j["customer_id"], j["n_touchpoints"]) for j in journeys(con)) == [("c1", 2), ("c2", 2)]


# ---- figures ------------------------------------------------------------------------------------

def test_journey_figures(tmp_path):
    """page_view, add_to_cart, purchase 20 on the web, purchase 5 in the store, an hour apart."""
    con = warehouse(tmp_path)
    events(con, ["web page_view", "web add_to_cart", "web purchase 20",
                 {"channel": "store", "event_type": "purchase", "revenue": 5, "properties": {"persona": "loyalist"}}])
    build(con)
    journey = one(con, "select * from marts.journeys")
    assert {k: journey[k] for k in (
        "customer_id", "persona", "started_at", "ended_at", "n_touchpoints", "channels", "channels_text", "n_channels",
        "first_channel", "last_channel", "stages_reached", "stages_reached_text", "highest_stage", "highest_stage_rank",
        "is_converted", "first_converted_at", "time_to_convert_s", "n_conversions", "revenue",
    )} == {
        "customer_id": "c1", "persona": "loyalist",
        "started_at": dt.datetime(2024, 3, 1, 9), "ended_at": dt.datetime(2024, 3, 1, 12),
        "n_touchpoints": 4, "channels": ["web", "store"], "channels_text": "web > store", "n_channels": 2,
        "first_channel": "web", "last_channel": "store", "stages_reached": ["awareness", "decision"],
        "stages_reached_text": "awareness > decision", "highest_stage": "decision",
        "highest_stage_rank": 3, "is_converted": True, "first_converted_at": dt.datetime(2024, 3, 1, 11),
        "time_to_convert_s": 2 * 3600.0, "n_conversions": 2, "revenue": 25.0,
    }


def test_journey_steps_carry_order_gaps_and_payload(tmp_path):
    """Steps are numbered in time order with the seconds since the previous one and the event's details."""
    con = warehouse(tmp_path)
    events(con, [
        {"event_type": "page_view", "occurred_at": "2024-03-01 09:00", "campaign": "spring"},
        {"event_type": "purchase", "occurred_at": "2024-03-01 09:30", "order_id": "o1", "revenue": 20,
         "product_id": "sku1"},
        {"channel": "call_center", "event_type": "support_call", "occurred_at": "2024-03-02 09:30",
         "ticket_id": "t1", "csat_score": 4, "properties": {"issue_category": "billing"}},
    ])
    build(con)
    assert rows(con, """select step_number, event_type, seconds_since_previous_step, campaign, order_id, revenue,
                               product_id, ticket_id, csat_score, issue_category, stage, stage_kind
                        from marts.journey_steps order by step_number""") == [
        {"step_number": 1, "event_type": "page_view", "seconds_since_previous_step": None, "campaign": "spring",
         "order_id": None, "revenue": None, "product_id": None, "ticket_id": None, "csat_score": None,
         "issue_category": None, "stage": "awareness", "stage_kind": "main"},
        {"step_number": 2, "event_type": "purchase", "seconds_since_previous_step": 1800.0, "campaign": None,
         "order_id": "o1", "revenue": 20.0, "product_id": "sku1", "ticket_id": None, "csat_score": None,
         "issue_category": None, "stage": "decision", "stage_kind": "main"},
        {"step_number": 3, "event_type": "support_call", "seconds_since_previous_step": 86400.0, "campaign": None,
         "order_id": None, "revenue": None, "product_id": None, "ticket_id": "t1", "csat_score": 4,
         "issue_category": "billing", "stage": "retention", "stage_kind": "detour"},
    ]


def test_touchpoints_at_the_same_moment_are_ordered_by_event_id(tmp_path):
    """Ties on occurred_at are broken by event_id, so the order is the same on every build."""
    con = warehouse(tmp_path)
    events(con, [{"event_id": "b", "event_type": "purchase", "occurred_at": "2024-03-01 09:00"},
                 {"event_id": "a", "event_type": "add_to_cart", "occurred_at": "2024-03-01 09:00"}])
    build(con)
    assert [r["event_id"] for r in rows(con, "select event_id from marts.journey_steps order by step_number")] == ["a", "b"]


# ---- late events and rebuilds -------------------------------------------------------------------

def test_a_late_event_lands_in_its_place_on_the_next_build(tmp_path):
    """A store product view that arrives a day late slots in before the purchase and makes the journey complex."""
    con = warehouse(tmp_path)
    events(con, [
        {"event_type": "product_view", "occurred_at": "2024-03-01 09:00"},
        {"event_type": "add_to_cart", "occurred_at": "2024-03-01 10:00"},
        {"event_type": "purchase", "occurred_at": "2024-03-01 12:00"},
    ])
    build(con)
    assert one(con, "select journey_type from marts.journeys") == {"journey_type": "linear"}
    events(con, [{"channel": "store", "event_type": "product_view", "occurred_at": "2024-03-01 11:00",
                  "received_at": "2024-03-02 02:00", "load_id": "nightly store batch"}])
    build(con)
    assert [(r["step_number"], r["event_type"], r["channel"]) for r in rows(
        con, "select step_number, event_type, channel from marts.journey_steps order by step_number")] == [
        (1, "product_view", "web"), (2, "add_to_cart", "web"), (3, "product_view", "store"), (4, "purchase", "web")]
    assert one(con, "select journey_type, classification_reason from marts.journeys") == {
        "journey_type": "complex", "classification_reason": "returned from decision to consideration before converting"}


def test_a_late_event_can_join_two_journeys(tmp_path):
    """Touchpoints 100 days apart are two journeys until a late one in between closes the gap."""
    con = warehouse(tmp_path)
    events(con, [{"occurred_at": "2024-01-01 09:00"}, {"occurred_at": "2024-04-10 09:00"}])
    build(con)
    assert len(journeys(con)) == 2
    events(con, [{"occurred_at": "2024-02-20 09:00", "received_at": "2024-05-01 00:00"}])
    build(con)
    assert [j["n_touchpoints"] for j in journeys(con)] == [3]


def _snapshot(con):
    return {table: con.execute(f"select * from {table} order by all").fetchall() for table in journey_tables()}


def test_rebuilding_twice_gives_identical_tables(tmp_path):
    """Every table of the journey model is the same after a second build of the same raw data."""
    con = warehouse(tmp_path)
    events(con, [
        {"anonymous_id": "a1", "event_type": "product_view"},
        {"customer_id": "c1", "anonymous_id": "a1", "event_type": "add_to_cart"},
        {"customer_id": "c1", "phone_hash": "p1", "event_type": "purchase", "revenue": 10},
        {"customer_id": "c2", "phone_hash": "p1", "channel": "call_center", "event_type": "support_call"},
        {"customer_id": "c3", "anonymous_id": "guest", "event_type": "coupon_applied"},
        {"event_id": "e2", "customer_id": "c1", "anonymous_id": "a1", "event_type": "add_to_cart",
         "occurred_at": "2024-03-01 10:00", "received_at": "2024-03-01 10:05"},  # a redelivery of e2
    ])
    build(con)
    first = _snapshot(con)
    build(con)
    assert _snapshot(con) == first


def test_the_build_leaves_duckdbs_memory_limit_as_configured(tmp_path):
    """The walk lowers DuckDB's memory limit while numpy works, and puts it back."""
    con = warehouse(tmp_path)
    before = con.execute("select current_setting('memory_limit')").fetchall()
    events(con, ["web page_view"])
    build(con)
    assert con.execute("select current_setting('memory_limit')").fetchall() == before


# ---- stage models -------------------------------------------------------------------------------

def test_five_stage_is_the_default_model(tmp_path):
    """marts.stages lists the five stages in order; marts.stage_model maps purchase to decision."""
    con = warehouse(tmp_path)
    events(con, ["web purchase 10"])
    build(con)
    assert [(r["stage"], r["stage_rank"]) for r in rows(con, "select * from marts.stages order by stage_rank")] == [
        ("awareness", 1), ("consideration", 2), ("decision", 3), ("retention", 4), ("advocacy", 5)]
    assert one(con, "select stage, stage_rank, stage_kind, is_conversion from marts.stage_model "
                    "where event_type = 'purchase'") == {
        "stage": "decision", "stage_rank": 3, "stage_kind": "main", "is_conversion": True}


def test_a_built_in_model_is_chosen_by_name(tmp_path):
    """With kotler_5a, page_view, review_read, purchase reach aware, ask and act."""
    con = warehouse(tmp_path)
    events(con, ["web page_view", "web review_read", "web purchase 10"])
    build(con, stage_model="kotler_5a")
    assert one(con, "select stages_reached, highest_stage from marts.journeys") == {
        "stages_reached": ["aware", "ask", "act"], "highest_stage": "act"}


def test_built_in_models_map_the_same_event_types_with_the_same_kinds():
    """All five built-ins cover the five_stage catalog, keep each event type's kind and its conversions."""
    models = builtin_models()
    assert sorted(models) == ["cx_5a", "five_stage", "four_stage", "kotler_5a", "tofu_mofu_bofu"]

    def kinds(model):
        return {event_type: kind for event_type, _, _, kind, _ in model.rows()}

    for model in models.values():
        assert kinds(model) == kinds(models["five_stage"]), model.name
        assert model.conversions == {"purchase", "subscription_start", "subscription_renewed"}, model.name


def test_a_user_model_comes_from_the_stage_models_file(tmp_path):
    """A YAML model in stage_models_file, chosen by name, is what marts.stage_model holds."""
    path = tmp_path / "models.yaml"
    path.write_text("""
name: shop
stages:
  - stage: browse
    main: [page_view, product_view]
  - stage: buy
    main: [Purchase]
    exit: [refund]
conversions: [purchase]
""")
    con = warehouse(tmp_path)
    events(con, ["web product_view", "web purchase 10", "web review_read"])
    build(con, stage_model="shop", stage_models_file=path)
    assert rows(con, "select event_type, stage, stage_rank, stage_kind, is_conversion from marts.stage_model "
                     "order by stage_rank, event_type") == [
        {"event_type": "page_view", "stage": "browse", "stage_rank": 1, "stage_kind": "main", "is_conversion": False},
        {"event_type": "product_view", "stage": "browse", "stage_rank": 1, "stage_kind": "main", "is_conversion": False},
        {"event_type": "purchase", "stage": "buy", "stage_rank": 2, "stage_kind": "main", "is_conversion": True},
        {"event_type": "refund", "stage": "buy", "stage_rank": 2, "stage_kind": "exit", "is_conversion": False},
    ]
    assert one(con, "select n_unmapped_touchpoints from marts.journeys") == {"n_unmapped_touchpoints": 1}


def test_a_user_file_can_hold_several_models(tmp_path):
    """`models:` lists several models, each selectable."""
    path = tmp_path / "models.yaml"
    path.write_text("""
models:
  - name: one
    stages: [{stage: only, main: [page_view]}]
  - name: two
    stages: [{stage: first, main: [page_view]}, {stage: second, main: [purchase]}]
    conversions: [purchase]
""")
    assert sorted(user_models(path)) == ["one", "two"]
    assert [s.name for s in active_model(settings(stage_model="two", stage_models_file=path)).stages] == [
        "first", "second"]


@pytest.mark.parametrize("text, message", [
    ("name: m\nstages: []\n", "'stages' must be a non-empty list"),
    ("name: m\nstages: [{stage: a, main: page_view}]\n", "'main' must be a list of event type names, got str"),
    ("name: m\nstages: [{stage: a, main: [x], detours: [y]}]\n", "unknown key(s) ['detours']"),
    ("name: m\nstages: [{stage: a, main: [x]}, {stage: b, detour: [x]}]\n",
     "event type 'x' is listed twice: in a (main) and in b (detour)"),
    ("name: m\nstages: [{stage: a, main: [x]}]\nconversions: [order]\n", "conversion(s) ['order'] are not event types"),
    ("name: m\nstages: [{stage: a, main: [x]}, {stage: a, main: [y]}]\n", "stage 'a' is listed twice"),
    ("name: M m\nstages: [{stage: a, main: [x]}]\n", "'name' must be a snake_case name"),
    ("name: m\nstages: [{stage: a}]\n", "lists no event types"),
    ("name: five_stage\nstages: [{stage: a, main: [x]}]\n", "'five_stage' is a built-in stage model"),
    ("name: m\nstages: [{stage: a, main: [x]\n", "not valid YAML"),
])
def test_invalid_user_models_are_refused_with_a_clear_error(tmp_path, text, message):
    """Each mistake names the file, the model or stage, and what is wrong."""
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(StageModelError) as error:
        user_models(path)
    assert message in str(error.value)
    assert str(path) in str(error.value)


def test_an_unknown_model_name_lists_the_available_ones():
    """Asking for a model that does not exist says which do."""
    with pytest.raises(StageModelError, match="unknown stage model 'nine_stage'.*five_stage, four_stage"):
        active_model(settings(stage_model="nine_stage"))


def test_unmapped_event_types_are_reported_with_counts(tmp_path):
    """Two coupon events and one wishlist event out of four: listed most frequent first, share 3/4."""
    con = warehouse(tmp_path)
    events(con, ["web coupon_applied", "web wishlist_add", "web coupon_applied", "web purchase 5"])
    build(con)
    assert unmapped_event_types(con).to_dict("records") == [
        {"event_type": "coupon_applied", "n_events": 2, "share_of_events": 0.5},
        {"event_type": "wishlist_add", "n_events": 1, "share_of_events": 0.25},
    ]
    assert unmapped_share(con) == 0.75


# ---- the model list -----------------------------------------------------------------------------

def _manifest():
    from journeys.transforms import dbt_project

    return dbt_project.manifest(settings())


def test_models_read_tables_only_through_ref_and_source():
    """No model names a warehouse table in its SQL: dbt knows every dependency, so it orders the build
    and Dagster draws the lineage from ref() and source() alone."""
    for node in _manifest().nodes.values():
        if node.resource_type == "model":
            code = "\n".join(line.split("--")[0] for line in node.raw_code.splitlines())
            assert not re.search(r"\b(?:raw|staging|intermediate|marts)\.[a-z_]+", code), node.original_file_path


def test_models_read_only_from_their_own_layer_or_the_one_below():
    """staging reads raw, intermediate reads staging and intermediate, marts read intermediate and marts."""
    from journeys.transforms.build_plan import dbt_models

    for table, reads in dbt_models(_manifest()).items():
        layer = LAYERS.index(table.split(".")[0])
        for dep in reads:
            assert LAYERS.index(dep.split(".")[0]) in (layer - 1, layer), (table, dep)
            assert not (dep.startswith("marts.") and layer < LAYERS.index("marts")), (table, dep)


def test_the_build_plan_builds_each_table_after_what_it_reads():
    """build_plan's order (dbt calls and Python steps) puts every table after the tables it reads."""
    from journeys.transforms import build_plan
    from journeys.transforms.python_steps import STEPS

    reads = build_plan.dbt_models(_manifest())
    reads.update({table: list(step.deps) for step in STEPS for table in step.tables})
    built = {"raw.touchpoints"}
    for step in build_plan.plan(settings()):
        tables = step if isinstance(step, list) else list(step.tables)
        for table in tables:  # within one dbt call dbt orders the models itself
            assert set(reads[table]) <= built | set(tables), table
        built |= set(tables)
    assert built == set(reads) | {"raw.touchpoints"}


def test_every_column_of_every_table_is_documented(tmp_path):
    """Each table has a description and every column a comment, taken from the model's header."""
    con = warehouse(tmp_path)
    events(con, ["web page_view"])
    build(con)
    for table in journey_tables():
        schema, name = table.split(".")
        assert one(con, "select comment from duckdb_tables() where schema_name = ? and table_name = ?",
                   [schema, name])["comment"], table
        undocumented = rows(con, "select column_name from duckdb_columns() where schema_name = ? and table_name = ? "
                                 "and comment is null", [schema, name])
        assert undocumented == [], table


def test_dagster_assets_are_keyed_by_layer_and_table():
    """One asset per table, keyed [layer, table], with the raw touchpoints as the staging asset's upstream."""
    from dagster import AssetKey

    from journeys.assets.definitions import warehouse_assets

    deps = {key: set(asset.asset_deps[key]) for asset in warehouse_assets for key in asset.keys}
    assert {".".join(k.path) for k in deps} >= set(journey_tables())
    assert deps[AssetKey(["staging", "stg_touchpoints"])] == {AssetKey(["raw", "touchpoints"])}
    assert deps[AssetKey(["marts", "journeys"])] == {
        AssetKey(["intermediate", "int_journey_steps"]), AssetKey(["intermediate", "int_persons"]),
        AssetKey(["intermediate", "int_stages"])}
    assert deps[AssetKey(["intermediate", "int_identity_map"])] == {
        AssetKey(["intermediate", "int_identifiers"]), AssetKey(["intermediate", "int_identity_links"])}
