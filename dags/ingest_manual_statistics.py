"""
### 人工统计数据 — manual statistics

Two policy targets are not measured by any feed: 三大先导产业规模占全市比重
(``leading_industry_share``) and 万亿级产业规模园区 (``trillion_parks``). The statistics office
drops a small CSV (指标代码, 期间, 园区, 数值, 来源, 备注) into
``<landing>/manual_statistics/<YYYY-MM-DD>/``; it is validated like any feed
(``expectations/manual_statistics.json``: known KPI code, a year/quarter/month period, a
non-negative value, a source; 园区 for per-park statistics) and loaded with lineage. The latest
delivery for a KPI, period and park wins. See ``docs/measures.md``.

Its asset ``parkops://staging/manual_statistics`` triggers ``build_marts``.

**Schedule**: daily at 11:00 Asia/Shanghai, covering that day's folder. **Catch-up**: trigger
with ``delivery_from``/``delivery_to`` (days, inclusive).

Files still being uploaded are left for a later run, which revisits their delivery (README,
"Files still being uploaded").
"""

from __future__ import annotations

from parkops.dag_factory import ingest_dag
from parkops.feeds import feed

# DAG id, schedule and tags: the feed's definition (parkops.feeds.manual_statistics). The word airflow in
# this comment keeps the file parsed: Airflow's safe mode skips files that do not mention it.
dag = ingest_dag(feed("manual_statistics"), catchup=False, doc_md=__doc__)
