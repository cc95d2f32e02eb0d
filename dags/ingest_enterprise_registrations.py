"""
### 企业登记事件 — enterprise registrations

Ingests the market-supervision registry's daily extract (``<landing>/registrations/<YYYY-MM-DD>/``,
CSV in UTF-8 or GB18030, or XLSX), validates every row with the Great Expectations suite
``expectations/registrations.json``, quarantines failing rows in ``ops.quarantine`` with file,
row, column, value and reason, and loads valid rows to ``raw`` and ``staging`` with lineage.
Its asset ``parkops://staging/registrations`` then triggers ``build_marts``, which rebuilds
``core.fct_registration_events``, ``core.dim_enterprise`` (SCD2) and the marts.

**Schedule**: daily at 10:00 Asia/Shanghai; the run covers the delivery day of its data
interval's end (the extract is due by 09:00). **Catch-up**: trigger one run with params
``delivery_from`` and ``delivery_to`` (inclusive): a year is one run, not 365.

Reruns are idempotent: a file version already loaded is skipped, the same bytes under another
name are loaded once, a corrected file (same name, new bytes) replaces the older version.
Every file's accounting (received = loaded + quarantined) is in ``ops.file_audit``.

Files still being uploaded are left for a later run, which revisits their delivery (README,
"Files still being uploaded").
"""

from __future__ import annotations

from parkops.dag_factory import ingest_dag
from parkops.feeds import feed

# DAG id, schedule and tags: the feed's definition (parkops.feeds.registrations). The word airflow in
# this comment keeps the file parsed: Airflow's safe mode skips files that do not mention it.
dag = ingest_dag(feed("registrations"), catchup=False, doc_md=__doc__)
