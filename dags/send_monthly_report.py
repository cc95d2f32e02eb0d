"""
### 园区运行月报 — monthly report to leadership

On the 1st of each month at 09:00 Asia/Shanghai (``config/reports.yaml``), the run for the
previous month starts waiting: the report goes out once that month's incubator reports are in
(every incubator that reported for the month before has reported; they arrive by the 10th and
load on the 11th) or on the configured cut-off day (``cutoff_day``, the 15th), whichever comes
first, and says which. It also needs 企业登记 and 走访记录 covering the month and the marts
rebuilt from every file loaded; still stale at ``wait_until`` on the cut-off day, it e-mails the
data engineers why, sends nothing to leadership and fails without retrying.

Content as the weekly report, over the month (``send_weekly_report``), with the month's
incubator reports in full in the Excel attachment. Archive: ``data/reports/monthly/<month>/``.
**Re-send or catch up**: trigger with ``period`` = ``2025-03``. Preview without sending:
``make report PERIOD=2025-03``.
"""

from __future__ import annotations

from airflow.sdk import DAG

from parkops.dag_factory import report_dag

dag: DAG = report_dag(
    dag_id="send_monthly_report",
    kind="monthly",
    catchup=False,
    doc_md=__doc__,
    tags=["parkops", "report"],
)
