"""Enterprise registrations (企业登记, sources.md feed 1): the market-supervision registry's daily extract.

CSV (UTF-8 or GB18030) or XLSX, one registration event per row.
"""

from __future__ import annotations

from parkops.feeds.definition import Column, Feed, Kind, TableContract

FEED = Feed(
    name="registrations",
    label_cn="企业登记",
    order=10,
    dag_id="ingest_enterprise_registrations",
    cadence="daily",
    schedule="0 10 * * *",
    tags=("parkops", "ingest", "registrations"),
    table_contracts=(
        TableContract(
            "registrations",
            (
                Column("统一社会信用代码", "uscc", Kind.CODE),
                Column("企业名称", "enterprise_name", Kind.TEXT),
                Column("事件类型", "event_type", Kind.TEXT),
                Column("事件日期", "event_date", Kind.DATE),
                Column("成立日期", "established_date", Kind.DATE),
                # 行业代码 and 所属园区 are required as well (sources.md: every KPI is per park, and the
                # tech and leading-industry definitions read the class); the other columns may be absent.
                Column("企业类型", "enterprise_type", Kind.TEXT, required_column=False),
                Column("注册资本（万元）", "registered_capital_10k", Kind.NUMBER, required_column=False),
                Column("币种", "currency", Kind.TEXT, required_column=False, default="人民币"),
                Column("行业代码", "industry_code", Kind.INDUSTRY),
                Column("所属园区", "park_name", Kind.TEXT),
                Column("注册地址", "address", Kind.TEXT, required_column=False),
                Column("法定代表人", "legal_representative", Kind.TEXT, required_column=False),
                Column("联系电话", "contact_phone", Kind.CODE, required_column=False),
                Column("资质标签", "qualification_tags", Kind.TAGS, required_column=False),
                Column("参保人数", "insured_employees", Kind.NUMBER, required_column=False),
            ),
        ),
    ),
    core_models=("fct_registration_events", "dim_enterprise"),
    mart_models=("daily_new_tech_enterprises", "new_tech_per_day_windows"),
    personal_columns={"legal_representative": "法定代表人", "contact_phone": "联系电话"},
    required_by_reports=frozenset({"weekly", "monthly"}),
    package=__name__,
)
