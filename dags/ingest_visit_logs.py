"""
### 走访记录 — visit logs of the enterprise-service team

Ingests the service platform's daily JSON Lines export (``<landing>/visits/<YYYY-MM-DD>/*.jsonl``,
UTF-8 or GB18030): one visit per line with the needs (诉求) the firm raised. Each line is
validated with the suites ``expectations/visits.json`` and ``expectations/visit_needs.json``
plus the feed-wide rule that a visit id is unique; a line that is not valid JSON or fails a
rule is quarantined whole in ``ops.quarantine`` (file, line, field, value, reason) while the
rest of the file loads. Valid lines go to ``raw.visits`` (the line as received) and
``staging.visits`` / ``staging.visit_needs`` with lineage. Visitor names stay in raw and
staging: they never reach ``core`` or ``mart``.

Its asset ``parkops://staging/visits`` triggers ``build_marts`` (visits per staff and week,
key-enterprise coverage, needs resolution, recurring needs, 首席代办员 services, park
evaluation, KPI progress).

**Schedule**: daily at 10:30 Asia/Shanghai, covering that day's delivery folder (due by
10:00). **Catch-up**: trigger with ``delivery_from``/``delivery_to`` (days, inclusive).
Reruns are idempotent, as for every feed (``ops.file_audit``).

Files still being uploaded are left for a later run, which revisits their delivery (README,
"Files still being uploaded").
"""

from __future__ import annotations

from parkops.dag_factory import ingest_dag
from parkops.feeds import feed

# DAG id, schedule and tags: the feed's definition (parkops.feeds.visits). The word airflow in
# this comment keeps the file parsed: Airflow's safe mode skips files that do not mention it.
dag = ingest_dag(feed("visits"), catchup=False, doc_md=__doc__)
