"""
### 孵化器月报 — incubators' monthly reports

Ingests one workbook per incubator and month (``<landing>/incubator_reports/<YYYY-MM>/*.xlsx``,
the folder being the delivery month: reports for month M arrive during M+1). Sheet ``月报``
(one data row) is validated with ``expectations/incubator_reports.json``, the optional sheet
``在孵企业名单`` with ``expectations/incubator_tenants.json``; across months, 累计毕业企业数 must
never decrease (a decrease is quarantined with the previous month's value in the reason). A
resubmission for a month replaces the earlier report downstream (latest delivery wins).

Its asset ``parkops://staging/incubator_reports`` triggers ``build_marts`` (incubator monthly
measures, 高质量孵化器 count, park evaluation, KPI progress).

**Schedule**: monthly, on the 11th at 11:00 Asia/Shanghai (reports are due by the 10th); a run
covers the delivery folders of the months its data interval touches, i.e. the previous and
the current month, so reports that arrive late or are resubmitted after a run are picked up
by the next one. **Catch-up**: trigger with ``delivery_from``/``delivery_to`` as months
(``YYYY-MM``) or days.

Files still being uploaded are left for a later run, which revisits their delivery (README,
"Files still being uploaded").
"""

from __future__ import annotations

from parkops.dag_factory import ingest_dag
from parkops.feeds import feed

# DAG id, schedule and tags: the feed's definition (parkops.feeds.incubator_reports). The word airflow in
# this comment keeps the file parsed: Airflow's safe mode skips files that do not mention it.
dag = ingest_dag(feed("incubator_reports"), catchup=False, doc_md=__doc__)
