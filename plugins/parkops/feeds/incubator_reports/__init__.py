"""Incubator monthly reports (孵化器月报, sources.md feed 3): one workbook per incubator and month.

Sheet ``月报`` holds one header row and exactly one data row (the report), table
``incubator_reports``; the optional sheet ``在孵企业名单`` lists the incubated enterprises by
USCC, table ``incubator_tenants``. Every column of the 月报 table in sources.md is required, as a
column and as a value: the report is a fixed form, and a report missing a figure cannot be measured.
"""

from __future__ import annotations

from parkops.feeds.definition import Column, Feed, Kind, TableContract

REPORTS = TableContract(
    "incubator_reports",
    (
        Column("孵化器编号", "incubator_id", Kind.CODE),
        Column("孵化器名称", "incubator_name", Kind.TEXT),
        Column("级别", "level", Kind.TEXT),
        Column("高质量孵化器", "is_high_quality", Kind.YES_NO),
        Column("所属园区", "park_name", Kind.TEXT),
        Column("报告期", "report_month", Kind.MONTH),
        Column("孵化场地面积（平方米）", "incubation_area_m2", Kind.NUMBER),
        Column("在孵企业数", "incubatees", Kind.NUMBER),
        Column("当期新增在孵企业数", "new_incubatees", Kind.NUMBER),
        Column("当期毕业企业数", "graduated", Kind.NUMBER),
        Column("累计毕业企业数", "graduated_cumulative", Kind.NUMBER),
        Column("当期获投融资企业数", "funded_incubatees", Kind.NUMBER),
        Column("当期融资金额（万元）", "funding_10k", Kind.NUMBER),
        Column("知识产权授权数", "ip_granted", Kind.NUMBER),
        Column("在孵企业从业人员数", "incubatee_employees", Kind.NUMBER),
        Column("在孵企业营业收入（万元）", "incubatee_revenue_10k", Kind.NUMBER),
    ),
)
TENANTS = TableContract("incubator_tenants", (Column("统一社会信用代码", "uscc", Kind.CODE),))

FEED = Feed(
    name="incubator_reports",
    label_cn="孵化器月报",
    order=30,
    dag_id="ingest_incubator_reports",
    cadence="monthly",
    schedule="0 11 11 * *",
    tags=("parkops", "ingest", "incubators"),
    table_contracts=(REPORTS, TENANTS),
    core_models=("fct_incubator_reports", "dim_incubator", "fct_incubator_tenants"),
    mart_models=("incubator_monthly", "high_quality_incubators"),
    # Tenants are looked up in core.dim_enterprise_current (enterprise_known).
    reads_core_of=("registrations",),
    required_by_reports=frozenset({"monthly"}),
    package=__name__,
)
