"""Manual statistics (人工统计数据): KPI figures no feed measures, dropped as a small CSV by the statistics office."""

from __future__ import annotations

from parkops.feeds.definition import Column, Feed, Kind, TableContract

FEED = Feed(
    name="manual_statistics",
    label_cn="手工统计",
    order=40,
    dag_id="ingest_manual_statistics",
    cadence="daily",
    schedule="0 11 * * *",
    tags=("parkops", "ingest"),
    table_contracts=(
        TableContract(
            "manual_statistics",
            (
                Column("指标代码", "kpi_code", Kind.KEY),
                Column("期间", "period", Kind.TEXT),
                Column("园区", "park_name", Kind.TEXT, required_column=False),
                Column("数值", "value", Kind.NUMBER),
                Column("来源", "source", Kind.TEXT),
                Column("备注", "note", Kind.TEXT, required_column=False),
            ),
        ),
    ),
    # Read by the shared mart kpi_target_progress only (the statistics come when a period ends:
    # no report waits for them).
    core_models=("fct_manual_statistics",),
    mart_models=(),
    package=__name__,
)
