"""Visit logs (走访记录, sources.md feed 2): the service platform's JSON Lines, one visit per line with its needs.

The columns' headers are the JSON keys; a visit's ``needs`` (a list of objects) fill
``visit_needs``, one row per need.
"""

from __future__ import annotations

from parkops.feeds.definition import Column, Feed, Kind, TableContract

#: Key of a visit object holding its needs.
NEEDS_KEY = "needs"

VISITS = TableContract(
    "visits",
    (
        Column("visit_id", "visit_id", Kind.CODE),
        Column("visit_date", "visit_date", Kind.DATE),
        Column("visitor_id", "visitor_id", Kind.CODE),
        Column("visitor_name", "visitor_name", Kind.TEXT),
        Column("visitor_role", "visitor_role", Kind.TEXT),
        Column("area", "area", Kind.TEXT),
        Column("park_name", "park_name", Kind.TEXT),
        Column("uscc", "uscc", Kind.CODE),
        Column("enterprise_name", "enterprise_name", Kind.TEXT),
        Column("channel", "channel", Kind.TEXT),
        Column("is_key_enterprise", "is_key_enterprise", Kind.BOOLEAN),
    ),
)
#: No raw table of its own: the line as received is in raw.visits.
NEEDS = TableContract(
    "visit_needs",
    (
        Column("need_id", "need_id", Kind.CODE),
        Column("category", "category", Kind.TEXT),
        Column("description", "description", Kind.TEXT),
        Column("status", "status", Kind.TEXT),
        Column("raised_date", "raised_date", Kind.DATE),
        Column("resolved_date", "resolved_date", Kind.DATE),
        Column("satisfaction", "satisfaction", Kind.NUMBER),
    ),
    raw=False,
)

FEED = Feed(
    name="visits",
    label_cn="走访记录",
    order=20,
    dag_id="ingest_visit_logs",
    cadence="daily",
    schedule="30 10 * * *",
    tags=("parkops", "ingest", "visits"),
    table_contracts=(VISITS, NEEDS),
    # Order matters: each model reads the ones before it.
    core_models=("fct_visits", "dim_visitor", "fct_need_records", "fct_need_status_changes"),
    mart_models=(
        "staff_week_visits",
        "visits_per_staff_week",
        "key_enterprise_coverage",
        "recurring_needs",
        "need_status",
        "needs_resolution",
        "agent_services",
    ),
    # USCCs are looked up in core.dim_enterprise_current (enterprise_known, key enterprises by tag).
    reads_core_of=("registrations",),
    personal_columns={
        "visitor_name": "走访人员姓名",
        # The needs of a visit line as received (a list of objects; quarantined whole when it is
        # not one) and each need's free-text description.
        NEEDS_KEY: "诉求",
        "description": "诉求描述",
    },
    required_by_reports=frozenset({"weekly", "monthly"}),
    package=__name__,
)
