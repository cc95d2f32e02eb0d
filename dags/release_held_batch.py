"""
### 质量闸门 — release or rerun a held batch

The ingest DAGs' quality gate holds a feed's delivery (a day's files; a month's for the incubator
reports) when more of its rows were quarantined than the feed's threshold allows
(``config/operations.yaml``, section ``quality_gate``: 5 % by default, at least 5 rows): nothing of
it reaches ``core`` or ``mart``, the ingest run fails without retrying, and the on-call alert
lists the top failing rules and sample rows. Held batches: ``ops.held_batches``,
``python -m parkops.cli gate list``, or the health page.

Trigger this DAG with config, once the cause is understood (README, "Runbook: a held batch"):

- ``action: release``: publish the batch **as it is**: its valid rows go to ``core``/``mart``, its
  quarantined rows stay quarantined (the quarantine was right; the share alone was the alarm).
- ``action: rerun``: **read every file of the delivery again** (after the pipeline or the
  reference data was fixed): the batch's current file versions are set aside (audit status
  ``superseded``) and loaded anew, and the gate decides again; still held fails this run again.
  A supplier's corrected file needs no rerun: delivered, it re-decides the batch by itself.

``requested_by`` and ``reason`` are kept in ``ops.quality_gate_log``. On success the feed's asset
is updated, so ``build_marts`` rebuilds the feed's tables with the batch in them.
"""

from __future__ import annotations

from airflow.sdk import Asset, Param, dag, task

from parkops.dag_factory import DEFAULT_ARGS, WAREHOUSE_WRITER_POOL, ops_links, quality_gate_outcome
from parkops.feeds import FEED_NAMES, FEEDS

FEED_ASSETS = {each.name: Asset(each.asset_uri) for each in FEEDS}


@dag(
    dag_id="release_held_batch",
    schedule=None,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params={
        "feed": Param(FEED_NAMES[0], enum=sorted(FEED_NAMES), description="Feed of the held batch"),
        "delivery_date": Param(
            "",
            type="string",
            pattern=r"^\d{4}-\d{2}-\d{2}$",
            description="Delivery date of the held batch (YYYY-MM-DD; incubator reports: the month's first day)",
        ),
        "action": Param("release", enum=["release", "rerun"], description="release as it is, or read it again"),
        "requested_by": Param("", type="string", minLength=1, description="Who asks (kept in ops.quality_gate_log)"),
        "reason": Param("", type="string", minLength=1, description="Why (kept in ops.quality_gate_log)"),
    },
    tags=["parkops", "ops"],
    doc_md=__doc__ + ops_links(),
)
def release_held_batch():
    @task(pool=WAREHOUSE_WRITER_POOL, outlets=list(FEED_ASSETS.values()))
    def release_or_rerun(**context) -> dict[str, object]:
        from parkops.pipeline import tasks

        params = context["params"]
        summary = tasks.release_or_rerun(
            params["feed"],
            params["delivery_date"],
            params["action"],
            params["requested_by"],
            params["reason"],
            context["run_id"],
        )
        # Only the batch's feed asks build_marts for a rebuild (the other outlets say "unchanged").
        for feed_name, asset in FEED_ASSETS.items():
            context["outlet_events"][asset].extra = {"changed": feed_name == params["feed"]}
        return summary

    @task
    def check_quality_gate(summary: dict[str, object], **context) -> dict[str, int]:
        return quality_gate_outcome(context["params"]["feed"], summary)

    check_quality_gate(release_or_rerun())


release_held_batch()
