"""Reading an incubator workbook, and the rule across months (the reading convention: ``parkops.feeds.definition``).

Units: the report row and each tenant row. A tenant row that fails (invalid or repeated USCC)
is quarantined alone; when the report row fails, its tenants are quarantined with it (they
belong to a report that did not load).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from parkops.feeds.definition import TableContract
from parkops.feeds.incubator_reports import REPORTS, TENANTS
from parkops.ingest.prepared import PendingCheck, PreparedFile, UnitFailure, ValidationInputs
from parkops.ingest.readers import FileRejected, read_workbook_sheets, table_rows
from parkops.ingest.tabular import PreparedTable, prepare_table, tabular_part

REPORT_SHEET = "月报"
TENANT_SHEET = "在孵企业名单"


def _month_before(first_day: dt.date) -> dt.date:
    return first_day - dt.timedelta(days=1)


def prepare(path: Path, delivery_date: str, inputs: ValidationInputs, data: bytes | None = None) -> PreparedFile:
    sheets = read_workbook_sheets(path, {REPORT_SHEET, TENANT_SHEET}, data)
    received = [row for name, table in sheets.items() for row in table_rows(table, name)]
    if REPORT_SHEET not in sheets:
        raise FileRejected(
            f"sheet {REPORT_SHEET} is missing (sheets found must include {REPORT_SHEET}; {TENANT_SHEET} is optional)",
            rule="report_sheet_missing",
        ).with_rows(received)
    report_table = sheets[REPORT_SHEET]
    if not report_table.headers:
        raise FileRejected(f"sheet {REPORT_SHEET} is empty: no header row", rule="file_empty").with_rows(received)
    # An empty tenant sheet is a list with no tenants (the incubator has none at month end).
    empty_tenant_list = TENANT_SHEET in sheets and not sheets[TENANT_SHEET].headers
    report_rows = len(report_table.rows) + len(report_table.malformed_rows)
    if report_rows != 1:
        raise FileRejected(
            f"sheet {REPORT_SHEET} must hold exactly one data row under its header, found {report_rows}",
            rule="report_row_count",
        ).with_rows(received)
    report = _prepare_sheet(REPORTS, sheets, REPORT_SHEET, delivery_date, inputs, received)
    tenants = (
        _prepare_sheet(TENANTS, sheets, TENANT_SHEET, delivery_date, inputs, received)
        if TENANT_SHEET in sheets and not empty_tenant_list
        else None
    )

    # The reporting month must be before the delivery month: reports for M arrive during M+1.
    delivery_first = dt.date.fromisoformat(delivery_date)
    report.normalised["latest_report_month"] = _month_before(delivery_first).isoformat()
    report.normalised["has_tenant_list"] = TENANT_SHEET in sheets
    report_part, unit_rows, failures, report_record = tabular_part(
        REPORTS.name,
        report,
        report_table.headers,
        sheet_name=REPORT_SHEET,
        helper_columns=("delivery_date", "latest_report_month"),
    )
    parts = [report_part]
    first_tenant = len(unit_rows)
    tenant_record = None
    unit_sheets = [REPORT_SHEET] * len(unit_rows)
    parents = [-1] * len(unit_rows)
    if tenants is not None:
        # No identity when the one report row is malformed: its tenants are quarantined with it.
        identity = report.normalised.iloc[0] if len(report.normalised) else {}
        tenants.normalised["incubator_id"] = identity.get("incubator_id")
        tenants.normalised["report_month"] = identity.get("report_month")
        tenant_part, tenant_rows, tenant_failures, tenant_record = tabular_part(
            TENANTS.name,
            tenants,
            sheets[TENANT_SHEET].headers,
            sheet_name=TENANT_SHEET,
            first_unit=first_tenant,
        )
        parts.append(tenant_part)
        failures += tenant_failures + _repeated_tenants(tenant_part.normalised["uscc"].tolist(), first_tenant)
        unit_rows += tenant_rows
        unit_sheets += [TENANT_SHEET] * len(tenant_rows)
        parents += [0] * len(tenant_rows)

    def record(unit: int) -> str:
        if unit < first_tenant:
            return report_record(unit)
        return tenant_record(unit - first_tenant)

    return PreparedFile(
        parts=parts,
        unit_rows=unit_rows,
        unit_record=record,
        unit_sheets=unit_sheets,
        unit_parents=parents,
        failures=failures,
        unknown_columns=report.unknown_columns
        + [f"{TENANT_SHEET}.{name}" for name in (tenants.unknown_columns if tenants else [])],
        encoding=None,
    )


def _prepare_sheet(
    contract: TableContract, sheets: dict, sheet: str, delivery_date: str, inputs: ValidationInputs, received: list
) -> PreparedTable:
    try:
        return prepare_table(contract.columns, sheets[sheet], delivery_date, inputs.division_sections)
    except FileRejected as rejection:
        rejection.reason = f"sheet {sheet}: {rejection.reason}"
        raise rejection.with_rows(received) from None


def _repeated_tenants(usccs: list[str | None], first_unit: int) -> list[UnitFailure]:
    seen: dict[str, int] = {}
    failures = []
    for offset, uscc in enumerate(usccs):
        if uscc is None:
            continue
        if uscc in seen:
            failures.append(
                UnitFailure(
                    first_unit + offset,
                    "tenant_uscc_repeated",
                    f"统一社会信用代码 (uscc): {uscc} is listed twice in {TENANT_SHEET}; kept once",
                    column="uscc",
                    value=uscc,
                )
            )
        else:
            seen[uscc] = offset
    return failures


def cross_check(connection: Connection, pending: list[PendingCheck]) -> dict[int, list[UnitFailure]]:
    """累计毕业企业数 never decreases: a report below the incubator's previous month is quarantined.

    "Previous month" is the latest earlier report month of the incubator whose current report
    (latest delivery) is loaded, in the warehouse or earlier in this batch.
    """
    # incubator_id -> report_month -> (graduated_cumulative, source_file) of the current report
    current: dict[str, dict[str, tuple[int, str]]] = {}
    rows = connection.execute(
        sa.text(
            "select incubator_id, report_month, graduated_cumulative, source_file "
            f"from staging.{REPORTS.name} order by delivery_date, source_file"
        )
    )
    for incubator_id, report_month, cumulative, source_file in rows:
        current.setdefault(incubator_id, {})[str(report_month)[:10]] = (int(cumulative), source_file)
    failures: dict[int, list[UnitFailure]] = {}
    for position, check in enumerate(pending):
        part = check.prepared.part(REPORTS.name)
        for row, unit in enumerate(part.unit.tolist()):
            if unit in check.failed_units:
                continue
            values = part.normalised.iloc[row]
            incubator_id, month = values["incubator_id"], values["report_month"]
            cumulative = int(values["graduated_cumulative"])
            months = current.setdefault(incubator_id, {})
            earlier = [known for known in months if known < month]
            if earlier:
                previous_month = max(earlier)
                previous, previous_file = months[previous_month]
                if cumulative < previous:
                    failures.setdefault(position, []).append(
                        UnitFailure(
                            unit,
                            "graduated_cumulative_decreased",
                            f"累计毕业企业数 (graduated_cumulative): {cumulative} is lower than {previous} reported "
                            f"for {previous_month[:7]} ({previous_file}); the cumulative count never decreases",
                            column="graduated_cumulative",
                            value=part.originals.iloc[row]["graduated_cumulative"],
                        )
                    )
                    continue
            months[month] = (cumulative, check.source_file)
    return failures
