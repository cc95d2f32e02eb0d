"""The Chinese label of every quality rule id: the one home of what a person reads for a rule.

A rule id (``ops.quarantine.rule``, ``ops.validation_results.rule``) is a stable snake_case key
that SQL, URLs and tests use; people read its label instead: the quarantine pages and the held
batches of the health page (the id on hover), the held-batch lines of ``parkops.cli gate list``
and of the failure alerts (e-mail and chat robots), and the Data Docs (label and id in each
expectation's notes). Rule ids come from two places, both labelled here:

* the Great Expectations suites (``meta.rule`` of each expectation in ``expectations/*.json``);
* the code that rejects a file or a row before or beside the suites (readers, header mapping,
  JSON lines, cross-row checks).

``tests/unit/test_rule_labels.py`` collects the ids both can emit and fails on one without a
label here (or on a label no code or suite emits any more): add the label with the rule.
"""

from __future__ import annotations

#: Rules of the code: a file refused whole, a line or row unreadable, cross-row checks.
CODE_RULE_LABELS: dict[str, str] = {
    # A file refused whole (readers, header mapping, incubator workbook layout).
    "file_undecodable": "文件编码无法识别",
    "file_unparseable": "文件无法解析",
    "file_empty": "文件为空（无表头）",
    "file_unsupported_type": "文件类型不受支持",
    "file_too_large": "文件超过大小上限",
    "workbook_too_large": "工作簿解压后超过上限",
    "sheet_too_large": "工作表超过行列上限",
    "duplicate_column": "列名重复",
    "missing_required_column": "缺少必需列",
    "report_sheet_missing": "缺少“月报”工作表",
    "report_row_count": "“月报”工作表不是恰好一行",
    # A row or line that cannot be read as the contract says.
    "row_field_count": "字段数与表头不符",
    "line_invalid_json": "不是有效的 JSON",
    "line_invalid_character": "含无法保存的字符",
    "line_not_an_object": "不是 JSON 对象",
    "needs_not_a_list": "诉求不是列表",
    "need_not_an_object": "诉求项不是 JSON 对象",
    # Checks across rows, files or deliveries.
    "need_id_repeated_in_visit": "同一走访内诉求编号重复",
    "visit_id_duplicate": "走访编号重复",
    "tenant_uscc_repeated": "在孵企业信用代码重复",
    "graduated_cumulative_decreased": "累计毕业企业数少于上月",
    "parent_row_quarantined": "所属月报行已隔离",
}

#: Rules of the suites (``meta.rule``); an id shared by several suites means the same there.
SUITE_RULE_LABELS: dict[str, str] = {
    # Required values.
    "uscc_missing": "统一社会信用代码为空",
    "enterprise_name_missing": "企业名称为空",
    "event_type_missing": "事件类型为空",
    "event_date_missing": "事件日期为空",
    "established_date_missing": "成立日期为空",
    "visit_id_missing": "走访编号为空",
    "visit_date_missing": "走访日期为空",
    "visitor_id_missing": "走访人员编号为空",
    "visitor_role_missing": "走访人员角色为空",
    "park_name_missing": "园区为空",
    "industry_code_missing": "行业代码为空",
    "channel_missing": "走访方式为空",
    "is_key_enterprise_missing": "是否重点企业为空",
    "need_id_missing": "诉求编号为空",
    "category_missing": "诉求类别为空",
    "status_missing": "办理状态为空",
    "raised_date_missing": "提出日期为空",
    "resolved_date_missing": "已办结但办结日期为空",
    "incubator_id_missing": "孵化器编号为空",
    "incubator_name_missing": "孵化器名称为空",
    "level_missing": "孵化器级别为空",
    "is_high_quality_missing": "高质量孵化器为空",
    "report_month_missing": "报告期为空",
    "incubation_area_m2_missing": "孵化场地面积为空",
    "incubatees_missing": "在孵企业数为空",
    "new_incubatees_missing": "当期新增在孵企业数为空",
    "graduated_missing": "当期毕业企业数为空",
    "graduated_cumulative_missing": "累计毕业企业数为空",
    "funded_incubatees_missing": "当期获投融资企业数为空",
    "funding_10k_missing": "当期融资金额为空",
    "ip_granted_missing": "知识产权授权数为空",
    "incubatee_employees_missing": "在孵企业从业人员数为空",
    "incubatee_revenue_10k_missing": "在孵企业营业收入为空",
    "kpi_code_missing": "指标代码为空",
    "period_missing": "期间为空",
    "value_missing": "数值为空",
    "source_missing": "来源为空",
    # Codes and values outside the reference sets.
    "uscc_invalid": "统一社会信用代码无效",
    "event_type_unknown": "事件类型不在允许值内",
    "currency_unknown": "币种不在允许值内",
    "industry_code_unknown": "行业代码不在国标行业分类中",
    "park_name_unknown": "园区不在园区名录中",
    "qualification_tags_unknown": "资质标签不在允许值内",
    "visitor_role_unknown": "走访人员角色不在允许值内",
    "channel_unknown": "走访方式不在允许值内",
    "is_key_enterprise_invalid": "是否重点企业不是是/否",
    "category_unknown": "诉求类别不在允许值内",
    "status_unknown": "办理状态不在允许值内",
    "level_unknown": "孵化器级别不在允许值内",
    "is_high_quality_invalid": "高质量孵化器不是是/否",
    "kpi_code_unknown": "指标代码不属于人工统计指标",
    # Dates and periods.
    "event_date_format": "事件日期格式无法识别",
    "established_date_format": "成立日期格式无法识别",
    "visit_date_format": "走访日期格式无法识别",
    "raised_date_format": "提出日期格式无法识别",
    "resolved_date_format": "办结日期格式无法识别",
    "report_month_format": "报告期格式无法识别",
    "period_format": "期间格式无法识别",
    "event_date_after_delivery": "事件日期晚于交付日",
    "visit_date_after_delivery": "走访日期晚于交付日",
    "established_date_after_event": "成立日期晚于事件日期",
    "raised_date_after_visit": "提出日期晚于走访日期",
    "resolved_before_raised": "办结日期早于提出日期",
    "report_month_not_before_delivery": "报告期不早于交付月份",
    # Numbers.
    "registered_capital_invalid": "注册资本不是有效金额",
    "insured_employees_invalid": "参保人数不是有效整数",
    "satisfaction_invalid": "满意度不是1至5的整数",
    "incubation_area_m2_invalid": "孵化场地面积不是有效数值",
    "incubatees_invalid": "在孵企业数不是有效整数",
    "new_incubatees_invalid": "当期新增在孵企业数不是有效整数",
    "graduated_invalid": "当期毕业企业数不是有效整数",
    "graduated_cumulative_invalid": "累计毕业企业数不是有效整数",
    "funded_incubatees_invalid": "当期获投融资企业数不是有效整数",
    "funding_10k_invalid": "当期融资金额不是有效数值",
    "ip_granted_invalid": "知识产权授权数不是有效整数",
    "incubatee_employees_invalid": "在孵企业从业人员数不是有效整数",
    "incubatee_revenue_10k_invalid": "在孵企业营业收入不是有效数值",
    "value_invalid": "数值不是非负数",
    "share_above_100": "占比超过100%",
    "funded_exceeds_incubatees": "获投融资企业数多于在孵企业数",
    # Values that must be empty in context.
    "resolved_date_unexpected": "未办结却填写了办结日期",
    "satisfaction_unexpected": "未办结却填写了满意度",
    "park_name_unexpected": "全区指标却填写了园区",
}

#: Every rule id -> its Chinese label.
RULE_LABELS: dict[str, str] = {**CODE_RULE_LABELS, **SUITE_RULE_LABELS}


def rule_label(rule: str) -> str:
    """The Chinese label of ``rule``; an id without one (a rule added without its label, which a
    test forbids, or one of an older release still in the warehouse) shows as itself rather than
    hiding the row."""
    return RULE_LABELS.get(rule, rule)
