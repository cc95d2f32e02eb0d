"""The feed registry (parkops.feeds) against the repository: each feed's pieces exist and agree."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from parkops.feeds import FEED_NAMES, FEEDS, Feed, families_rebuilt_by, feed, feed_of_asset
from parkops.pipeline import transform

PROJECT = Path(__file__).resolve().parents[2]
DDL = PROJECT / "sql" / "ddl"

#: Asset URIs before the registry: scheduled runs and asset events in a running Airflow name them.
ASSET_URIS = {
    "registrations": "parkops://staging/registrations",
    "visits": "parkops://staging/visits",
    "incubator_reports": "parkops://staging/incubator_reports",
    "manual_statistics": "parkops://staging/manual_statistics",
}
#: DAG id, schedule and tags before the registry (Airflow keeps a DAG's runs under its id).
INGEST_DAGS = {
    "registrations": ("ingest_enterprise_registrations", "0 10 * * *", ("parkops", "ingest", "registrations")),
    "visits": ("ingest_visit_logs", "30 10 * * *", ("parkops", "ingest", "visits")),
    "incubator_reports": ("ingest_incubator_reports", "0 11 11 * *", ("parkops", "ingest", "incubators")),
    "manual_statistics": ("ingest_manual_statistics", "0 11 * * *", ("parkops", "ingest")),
}


def ddl_tables(schema: str) -> set[str]:
    text = "\n".join(path.read_text(encoding="utf-8") for path in sorted(DDL.glob("*.sql")))
    return set(re.findall(rf"create table if not exists {schema}\.(\w+)", text, flags=re.IGNORECASE))


def feeds_of_dag_file(path: Path) -> list[str]:
    """The feed names passed as ``ingest_dag(feed("<name>"), ...)`` in a DAG file."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "ingest_dag" and node.args:
            argument = node.args[0]
            if isinstance(argument, ast.Call) and getattr(argument.func, "id", None) == "feed":
                names += [arg.value for arg in argument.args if isinstance(arg, ast.Constant)]
    return names


def test_the_feeds_and_their_identities_are_unchanged() -> None:
    assert tuple(ASSET_URIS) == FEED_NAMES
    assert {each.name: each.asset_uri for each in FEEDS} == ASSET_URIS
    assert {each.name: (each.dag_id, each.schedule, each.tags) for each in FEEDS} == INGEST_DAGS
    assert all(feed_of_asset(uri) == name for name, uri in ASSET_URIS.items())
    assert feed_of_asset("parkops://mart/all") is None


def test_no_two_feeds_share_a_name_dag_id_order_label_or_table() -> None:
    for attribute in ("name", "dag_id", "order", "label_cn", "asset_uri"):
        values = [getattr(each, attribute) for each in FEEDS]
        assert len(values) == len(set(values)), f"{attribute} repeated: {values}"
    tables = [table for each in FEEDS for table in each.tables]
    assert len(tables) == len(set(tables)), f"a table written by two feeds: {tables}"
    models = [model for each in FEEDS for model in (*each.core_models, *each.mart_models)]
    assert len(models) == len(set(models)), f"a model built by two feeds: {models}"


def test_an_unknown_feed_is_an_error_naming_the_known_ones() -> None:
    with pytest.raises(KeyError, match="known: registrations, visits"):
        feed("nope")


@pytest.mark.parametrize("landing_feed", FEEDS, ids=lambda each: each.name)
def test_every_table_has_its_suite_and_ddl(landing_feed: Feed) -> None:
    for table in landing_feed.tables:
        assert (PROJECT / "expectations" / f"{table}.json").is_file(), f"no suite expectations/{table}.json"
        assert table in ddl_tables("staging"), f"no staging.{table} in sql/ddl"
    for table in landing_feed.raw_tables:
        assert table in ddl_tables("raw"), f"no raw.{table} in sql/ddl"
    assert landing_feed.raw_tables, "a feed keeps what it received in at least one raw table"


@pytest.mark.parametrize("landing_feed", FEEDS, ids=lambda each: each.name)
def test_every_model_exists(landing_feed: Feed) -> None:
    for layer, models in (("core", landing_feed.core_models), ("mart", landing_feed.mart_models)):
        for model in models:
            assert (PROJECT / "sql" / layer / f"{model}.sql").is_file(), f"no sql/{layer}/{model}.sql"


def test_every_model_file_is_built_by_one_family_or_shared() -> None:
    built = {
        "core": [model for each in FEEDS for model in each.core_models],
        "mart": [model for each in FEEDS for model in each.mart_models] + list(transform.SHARED_MART),
    }
    for layer, models in built.items():
        files = sorted(path.stem for path in (PROJECT / "sql" / layer).glob("*.sql"))
        assert sorted(models) == files, f"sql/{layer}: models built {sorted(models)}, files {files}"


@pytest.mark.parametrize("landing_feed", FEEDS, ids=lambda each: each.name)
def test_the_dag_file_builds_the_feed_under_its_dag_id(landing_feed: Feed) -> None:
    path = PROJECT / "dags" / f"{landing_feed.dag_id}.py"
    assert path.is_file(), f"no DAG file dags/{landing_feed.dag_id}.py"
    assert feeds_of_dag_file(path) == [landing_feed.name]


@pytest.mark.parametrize("landing_feed", FEEDS, ids=lambda each: each.name)
def test_a_feed_comes_after_the_feeds_it_reads(landing_feed: Feed) -> None:
    for name in landing_feed.reads_core_of:
        assert feed(name).order < landing_feed.order, f"{landing_feed.name} reads {name}, which comes later"


@pytest.mark.parametrize("landing_feed", FEEDS, ids=lambda each: each.name)
def test_the_reading_module_follows_the_convention(landing_feed: Feed) -> None:
    assert landing_feed.package == f"parkops.feeds.{landing_feed.name}"
    assert callable(landing_feed.reading.prepare)


def test_the_rebuild_plan_derived_from_the_registry() -> None:
    assert families_rebuilt_by("registrations") == ("registrations", "visits", "incubator_reports")
    assert transform.DEPENDENTS == {"registrations": ("visits", "incubator_reports")}
    assert list(transform.FAMILIES) == list(FEED_NAMES)
