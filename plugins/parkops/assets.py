"""Asset URIs of the warehouse, shared by the DAGs (data-aware scheduling) without heavy imports.

An ingest DAG updates its feed's staging asset when a run has finished loading; ``build_marts``
is scheduled on any of them and updates the mart asset that report DAGs wait for.
"""

from __future__ import annotations

#: feed name -> URI of its staging tables' asset
FEED_ASSET_URIS = {
    "registrations": "parkops://staging/registrations",
    "visits": "parkops://staging/visits",
    "incubator_reports": "parkops://staging/incubator_reports",
    "manual_statistics": "parkops://staging/manual_statistics",
}

#: Every mart table, rebuilt together from one snapshot.
MARTS_ASSET_URI = "parkops://mart/all"


def feed_of_asset(uri: str) -> str | None:
    return next((name for name, feed_uri in FEED_ASSET_URIS.items() if feed_uri == uri), None)
