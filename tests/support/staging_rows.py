"""Hand-made staging rows for the mart tests: small builders with lineage filled in, an in-memory
collection that loads them with ``warehouse.bulk_insert``, and readers for the results.

Each builder returns plain dicts; :class:`Staging` gathers them per staging table and
:meth:`Staging.load` writes them in one transaction. Lineage: ``source_sha256`` derives from the
file name (one file = one version), ``run_id`` is ``test``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from parkops import warehouse

D = dt.date.fromisoformat


def _lineage(source_file: str, row: int, delivery: dt.date) -> dict[str, Any]:
    return {
        "source_file": source_file,
        "source_sha256": f"sha-{source_file}",
        "source_row_number": row,
        "delivery_date": delivery,
        "run_id": "test",
    }


class Staging:
    """Staging rows per table, loaded in one go."""

    def __init__(self) -> None:
        self.tables: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.empty_files: list[tuple[str, str, dt.date]] = []  # (feed, source_file, delivery)

    def empty_file(self, feed: str, delivery: str, file: str | None = None) -> None:
        """A delivered file without rows (a day without visits: the export still writes its file)."""
        day = D(delivery)
        self.empty_files.append((feed, file or f"{feed}/{day}/empty_{day}.jsonl", day))

    # --- registrations --------------------------------------------------------------------------

    def registration(
        self,
        uscc: str,
        event_date: str,
        *,
        event_type: str = "设立",
        park: str = "张江核心园",
        industry: str = "6520",
        tags: str | None = None,
        employees: int | None = None,
        delivery: str | None = None,
        file: str | None = None,
        row: int = 2,
    ) -> None:
        day = D(event_date)
        delivered = D(delivery) if delivery else day + dt.timedelta(days=1)
        source_file = file or f"registrations/{delivered}/reg_{uscc}_{event_type}_{day}.csv"
        self.tables["registrations"].append(
            {
                **_lineage(source_file, row, delivered),
                "uscc": uscc,
                "enterprise_name": f"企业{uscc}",
                "event_type": event_type,
                "event_date": day,
                "established_date": D("2020-01-01"),
                "enterprise_type": "有限责任公司",
                "registered_capital_10k": "100",
                "currency": "人民币",
                "industry_code": industry,
                "park_name": park,
                "address": "上海市",
                "legal_representative": "张三",
                "contact_phone": "13800000000",
                "qualification_tags": tags,
                "insured_employees": employees,
            }
        )

    # --- visits and needs -----------------------------------------------------------------------

    def visit(
        self,
        visit_id: str,
        visit_date: str,
        *,
        visitor: str = "S1",
        role: str = "片长",
        park: str = "张江核心园",
        uscc: str = "ENT-X",
        key: bool = False,
        channel: str = "上门走访",
        delivery: str | None = None,
        file: str | None = None,
        row: int = 1,
        needs: tuple[dict[str, Any], ...] = (),
    ) -> None:
        day = D(visit_date)
        delivered = D(delivery) if delivery else day + dt.timedelta(days=1)
        source_file = file or f"visits/{delivered}/{visit_id}.jsonl"
        lineage = _lineage(source_file, row, delivered)
        self.tables["visits"].append(
            {
                **lineage,
                "visit_id": visit_id,
                "visit_date": day,
                "visitor_id": visitor,
                "visitor_name": f"姓名{visitor}",
                "visitor_role": role,
                "area": "张江中区",
                "park_name": park,
                "uscc": uscc,
                "enterprise_name": f"企业{uscc}",
                "channel": channel,
                "is_key_enterprise": key,
                "need_count": len(needs),
            }
        )
        for position, need in enumerate(needs, start=1):
            self.tables["visit_needs"].append(
                {
                    **lineage,
                    "visit_id": visit_id,
                    "need_position": need.get("position", position),
                    "need_id": need["need_id"],
                    "category": need.get("category", "资金"),
                    "description": "联系人李四 13900000000",
                    "status": need.get("status", "待处理"),
                    "raised_date": D(need.get("raised", visit_date)),
                    "resolved_date": D(need["resolved"]) if need.get("resolved") else None,
                    "satisfaction": need.get("satisfaction"),
                }
            )

    # --- incubator reports ----------------------------------------------------------------------

    def incubator_report(
        self,
        incubator_id: str,
        report_month: str,
        *,
        delivery_month: str | None = None,
        park: str = "张江核心园",
        high_quality: bool = False,
        level: str = "市级",
        area: str = "1000",
        incubatees: int = 10,
        funded: int = 1,
        revenue: str = "2500",
        file: str | None = None,
        tenants: tuple[str, ...] | None = None,
    ) -> None:
        month = D(f"{report_month}-01")
        # Due in the month after the report month unless said otherwise.
        next_month = (month + dt.timedelta(days=32)).replace(day=1)
        delivered = D(f"{delivery_month}-01") if delivery_month else next_month
        source_file = file or f"incubator_reports/{delivered:%Y-%m}/{incubator_id}_{month:%Y%m}.xlsx"
        self.tables["incubator_reports"].append(
            {
                **_lineage(source_file, 2, delivered),
                "incubator_id": incubator_id,
                "incubator_name": f"孵化器{incubator_id}",
                "level": level,
                "is_high_quality": high_quality,
                "park_name": park,
                "report_month": month,
                "incubation_area_m2": area,
                "incubatees": incubatees,
                "new_incubatees": 1,
                "graduated": 0,
                "graduated_cumulative": 3,
                "funded_incubatees": funded,
                "funding_10k": "50",
                "ip_granted": 2,
                "incubatee_employees": 40,
                "incubatee_revenue_10k": revenue,
                "has_tenant_list": tenants is not None,
            }
        )
        for row, uscc in enumerate(tenants or (), start=2):
            self.tables["incubator_tenants"].append(
                {
                    **_lineage(source_file, row, delivered),
                    "incubator_id": incubator_id,
                    "report_month": month,
                    "uscc": uscc,
                }
            )

    # --- manual statistics ----------------------------------------------------------------------

    def manual(
        self,
        kpi_code: str,
        period: tuple[str, str, str],
        value: str,
        *,
        park: str | None = None,
        delivery: str,
        file: str | None = None,
        row: int = 2,
    ) -> None:
        label, start, end = period
        delivered = D(delivery)
        source_file = file or f"manual_statistics/{delivered}/stats.csv"
        self.tables["manual_statistics"].append(
            {
                **_lineage(source_file, row, delivered),
                "kpi_code": kpi_code,
                "period_start": D(start),
                "period_end": D(end),
                "period_label": label,
                "park_name": park,
                "value": value,
                "source": "市统计局",
                "note": None,
            }
        )

    def load(self, engine: Engine) -> None:
        """The rows, and for each source file the audit row of a loaded file and the quality
        gate's decision (published: nothing quarantined), as a load would leave them: core reads
        staging only through the gate's published files."""
        from parkops.pipeline import gate

        files: dict[tuple[str, str], dict[str, Any]] = {}
        for table, records in self.tables.items():
            for record in records:
                key = (FEED_OF_TABLE[table], record["source_file"])
                audit = files.setdefault(key, {"delivery_date": record["delivery_date"], "rows": 0})
                audit["rows"] += table not in CHILD_TABLES
        for feed, source_file, delivery in self.empty_files:
            files.setdefault((feed, source_file), {"delivery_date": delivery, "rows": 0})
        with engine.begin() as connection:
            for table, records in self.tables.items():
                frame = pd.DataFrame(records, dtype=object)
                warehouse.bulk_insert(connection, "staging", table, frame)
            audit_rows = [
                {
                    "feed": feed,
                    "delivery_date": audit["delivery_date"],
                    "source_file": source_file,
                    "file_name": source_file.rsplit("/", 1)[-1],
                    "source_sha256": f"sha-{source_file}",
                    "size_bytes": 0,
                    "file_format": source_file.rsplit(".", 1)[-1],
                    "encoding": None,
                    "status": "loaded",
                    "rows_received": audit["rows"],
                    "rows_loaded": audit["rows"],
                    "rows_quarantined": 0,
                    "unknown_columns": None,
                    "reason": None,
                    "duplicate_of": None,
                    "run_id": "test",
                    "processed_at": dt.datetime(2025, 1, 1),
                    "duration_seconds": 0.0,
                }
                for (feed, source_file), audit in files.items()
            ]
            if audit_rows:
                warehouse.bulk_insert(connection, "ops", "file_audit", pd.DataFrame(audit_rows, dtype=object))
            for feed in sorted({feed for feed, _ in files}):
                deliveries = {audit["delivery_date"] for (other, _), audit in files.items() if other == feed}
                gate.decide(connection, feed, deliveries, "test", gate.GateSettings())


#: Staging table -> feed (ops.file_audit.feed) of the file it came from.
FEED_OF_TABLE = {
    "registrations": "registrations",
    "visits": "visits",
    "visit_needs": "visits",
    "incubator_reports": "incubator_reports",
    "incubator_tenants": "incubator_reports",
    "manual_statistics": "manual_statistics",
}
#: Tables whose rows belong to a row of another table of the same file (not counted as received).
CHILD_TABLES = {"visit_needs", "incubator_tenants"}


YEAR_2024 = ("2024", "2024-01-01", "2024-12-31")


def fetch(engine: Engine, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(sa.text(query), params or {})]


def by_key(records: list[dict[str, Any]], *columns: str) -> dict[Any, dict[str, Any]]:
    keyed: dict[Any, dict[str, Any]] = {}
    for record in records:
        key = tuple(record[column] for column in columns)
        key = key[0] if len(key) == 1 else key
        assert key not in keyed, f"two rows for {key}"
        keyed[key] = record
    return keyed


def num(value: str | None) -> Decimal | None:
    """Expected numeric(20, 4) value (compared with ``==``, so scale does not matter)."""
    return None if value is None else Decimal(value)


def progress(engine: Engine, as_of: str) -> dict[str, dict[str, Any]]:
    """mart.kpi_target_progress rows of one as-of date, by kpi_code."""
    found = fetch(engine, "select * from mart.kpi_target_progress where as_of_date = :d", {"d": D(as_of)})
    return by_key(found, "kpi_code")
