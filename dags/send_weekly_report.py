"""
### 园区运行周报 — weekly report to leadership

Every Monday at 08:30 Asia/Shanghai (``config/reports.yaml``), the previous ISO week's report in
Chinese goes to the recipients configured there: a card per target of
``mart.kpi_target_progress`` (actual, target, 达成率, change on the week before, on track or not),
the daily new tech enterprises chart with the 200/day line and the rolling 30-day average, the
park ranking, needs and 共性诉求 of the week, incubators, and a data-quality footer; the detail
tables as an Excel attachment.

``wait_for_data`` waits (reschedule mode) until the feeds it needs (企业登记 and 走访记录) cover the whole week
and ``build_marts`` has rebuilt the marts from every file loaded (Sunday's data loads on Monday
at 10:00). Still stale at ``wait_until`` (14:00): it e-mails the data engineers why, sends
nothing to leadership, and fails without retrying. ``send_report`` archives the report
(``data/reports/weekly/<week>/``: HTML, charts, Excel, the message as sent) and sends it through
the ``smtp_default`` connection (SMTP provider). **Re-send or catch up**: trigger with
``period`` = ``2025-W10``. Preview without sending: ``make report PERIOD=2025-W10``.
"""

from __future__ import annotations

from airflow.sdk import DAG

from parkops.dag_factory import report_dag

dag: DAG = report_dag(
    dag_id="send_weekly_report",
    kind="weekly",
    catchup=False,
    doc_md=__doc__,
    tags=["parkops", "report"],
)
