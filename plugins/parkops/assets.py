"""Asset URIs of the warehouse, shared by the DAGs (data-aware scheduling) without heavy imports.

An ingest DAG updates its feed's staging asset (``Feed.asset_uri`` in ``parkops.feeds``) when a
run has finished loading; ``build_marts`` is scheduled on any of them and updates the mart asset
that report DAGs wait for.
"""

from __future__ import annotations

#: Every mart table, rebuilt together from one snapshot.
MARTS_ASSET_URI = "parkops://mart/all"
