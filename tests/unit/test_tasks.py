"""What build_marts rebuilds, from the ingest runs' asset events."""

from __future__ import annotations

from parkops.feeds import feed
from parkops.pipeline.tasks import feed_changed, plan_families


def test_a_manual_run_rebuilds_every_family():
    assert plan_families([]) == ["registrations", "visits", "incubator_reports", "manual_statistics"]


def test_registrations_also_rebuild_the_families_they_link():
    events = [(feed("registrations").asset_uri, {"changed": True})]
    assert plan_families(events) == ["registrations", "visits", "incubator_reports"]


def test_only_changed_feeds_count_and_unknown_assets_are_ignored():
    events = [
        (feed("visits").asset_uri, {"changed": False}),
        (feed("manual_statistics").asset_uri, {"changed": True}),
        ("parkops://elsewhere", {"changed": True}),
    ]
    assert plan_families(events) == ["manual_statistics"]
    assert plan_families([(feed("visits").asset_uri, {"changed": False})]) == []


def test_an_event_without_extra_counts_as_a_change():
    assert plan_families([(feed("visits").asset_uri, {})]) == ["visits"]


def test_only_loaded_or_rejected_files_change_staging():
    assert feed_changed({"files_loaded": 1})
    assert feed_changed({"files_rejected": 1})
    assert not feed_changed({"files_duplicate": 2, "files_outdated": 1, "files_unchanged": 40})
