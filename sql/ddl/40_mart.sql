create table if not exists mart.daily_new_tech_enterprises (
    date date not null,
    park_code text not null,
    park_name text not null,
    new_tech_enterprises integer not null,
    new_tech_established integer not null,
    new_tech_moved_in integer not null,
    new_enterprises integer not null
);
comment on table mart.daily_new_tech_enterprises is 'New enterprises per day and park (every day of the loaded range x every park, zeros included). Grain: date x park.';
comment on column mart.daily_new_tech_enterprises.date is 'Event date (事件日期) of the 设立/迁入 events';
comment on column mart.daily_new_tech_enterprises.new_tech_enterprises is 'Tech enterprises established or moved in that day (distinct USCC)';
comment on column mart.daily_new_tech_enterprises.new_tech_established is 'Of which by 设立';
comment on column mart.daily_new_tech_enterprises.new_tech_moved_in is 'Of which by 迁入';
comment on column mart.daily_new_tech_enterprises.new_enterprises is 'All enterprises established or moved in that day, tech or not';

create table if not exists mart.new_tech_per_day_windows (
    as_of_date date not null,
    window_code text not null,
    window_start date not null,
    calendar_days integer not null,
    new_tech_enterprises integer not null,
    new_tech_per_day numeric(20, 4) not null,
    target numeric(20, 4),
    attainment numeric(20, 4)
);
comment on table mart.new_tech_per_day_windows is '日均新增科技企业 in the windows of kpis.md: day, rolling_30d, month_to_date, year_to_date. Grain: as_of_date x window_code.';
comment on column mart.new_tech_per_day_windows.new_tech_per_day is 'new_tech_enterprises / calendar_days';

create table if not exists mart.kpi_target_progress (
    as_of_date date not null,
    kpi_code text not null,
    kpi_name text not null,
    category text not null,
    actual numeric(20, 4),
    target numeric(20, 4),
    target_upper numeric(20, 4),
    unit text,
    direction text not null,
    attainment numeric(20, 4),
    on_track boolean,
    data_status text not null,
    due_date date,
    projected_at_due_date numeric(20, 4)
);
comment on table mart.kpi_target_progress is 'Progress of every target in kpis.md per as-of date. Grain: as_of_date x kpi_code. A target whose feed has no data covering the date has data_status = ''no data'' and null actual (never zero). Attainment and on_track are null for directions threshold and none (a detection rule or a tracked figure, not a goal).';
comment on column mart.kpi_target_progress.as_of_date is 'Figures count data dated on or before this day; the dates run over the union of the feeds'' coverage (registrations: day before the first to the day before the latest delivery)';
comment on column mart.kpi_target_progress.actual is 'Per docs/measures.md: new_tech_per_day year-to-date average per calendar day; levels on the as-of date; service measures as defined there (percent as percent numbers)';
comment on column mart.kpi_target_progress.attainment is 'actual / target as a ratio, computed here once; every surface shows it as a percentage with one decimal, half-up (docs/measures.md)';
comment on column mart.kpi_target_progress.on_track is 'Registration levels and rate: whether the last-30-day run rate reaches the target by the due date (after it, whether it is met); other KPIs: whether the actual meets the target now; null without a target';
comment on column mart.kpi_target_progress.projected_at_due_date is 'Value projected at the due date at the last-30-day run rate';

comment on column mart.daily_new_tech_enterprises.park_code is 'Park code (core.dim_park)';
comment on column mart.daily_new_tech_enterprises.park_name is 'Park name in Chinese, e.g. 张江核心园';
comment on column mart.new_tech_per_day_windows.as_of_date is 'Figures count events dated on or before this day';
comment on column mart.new_tech_per_day_windows.window_code is 'day, rolling_30d, month_to_date or year_to_date';
comment on column mart.new_tech_per_day_windows.window_start is 'First day of the window (inclusive)';
comment on column mart.new_tech_per_day_windows.calendar_days is 'Calendar days in the window, weekends and holidays included';
comment on column mart.new_tech_per_day_windows.new_tech_enterprises is 'New tech enterprises in the window (sum of the daily distinct counts)';
comment on column mart.new_tech_per_day_windows.target is 'Target per day (core.dim_kpi_target, new_tech_per_day)';
comment on column mart.new_tech_per_day_windows.attainment is 'new_tech_per_day / target';
comment on column mart.kpi_target_progress.kpi_code is 'Stable KPI code, e.g. new_tech_per_day (core.dim_kpi_target)';
comment on column mart.kpi_target_progress.kpi_name is 'KPI name in Chinese, e.g. 日均新增科技企业';
comment on column mart.kpi_target_progress.category is 'policy (2023 policy targets) or service (enterprise-service measures)';
comment on column mart.kpi_target_progress.target is 'Target value (lower bound when direction is between)';
comment on column mart.kpi_target_progress.target_upper is 'Upper bound, only when direction is between';
comment on column mart.kpi_target_progress.unit is 'Unit of actual and target, e.g. 家/日, 人, %; recurring_needs: 起 (episodes), its target being the flagging rule (5 enterprises within 7 days)';
comment on column mart.kpi_target_progress.direction is 'at_least, more_than, between, threshold or none';
comment on column mart.kpi_target_progress.data_status is 'ok, or no data when the KPI''s feed has no data covering the as-of date (actual is then null, never zero)';
comment on column mart.kpi_target_progress.due_date is 'Date by which the target is due (policy targets: 2025-12-31)';

-- Service measures (visits and needs), docs/measures.md. visitor_id is a staff number, never a name.
create table if not exists mart.visits_per_staff_week (
    iso_year integer not null,
    iso_week integer not null,
    week_start date not null,
    week_end date not null,
    visitor_role text not null,
    visitors integer not null,
    visits integer not null,
    visits_per_visitor numeric(20, 4) not null,
    target numeric(20, 4),
    visitors_meeting_target integer
);
comment on table mart.visits_per_staff_week is '人均周走访数: visits per visitor per ISO week and role, every channel; staff without a visit in a week do not appear in it (the feed has no roster). Grain: ISO week x visitor_role.';
comment on column mart.visits_per_staff_week.iso_year is 'ISO 8601 week-numbering year (the week of 2024-12-30 is 2025-W01)';
comment on column mart.visits_per_staff_week.iso_week is 'ISO 8601 week number (1-53)';
comment on column mart.visits_per_staff_week.week_start is 'Monday of the week';
comment on column mart.visits_per_staff_week.week_end is 'Sunday of the week';
comment on column mart.visits_per_staff_week.visitor_role is '楼长, 片长, 服务总监 or 首席代办员, as logged with each visit';
comment on column mart.visits_per_staff_week.visitors is 'Distinct visitor_id with at least one visit in the week under this role';
comment on column mart.visits_per_staff_week.visits is 'Visits in the week under this role';
comment on column mart.visits_per_staff_week.visits_per_visitor is 'visits / visitors';
comment on column mart.visits_per_staff_week.target is 'Visits per visitor and week required (core.dim_kpi_target visits_per_staff_week); only for 片长, null for other roles';
comment on column mart.visits_per_staff_week.visitors_meeting_target is 'Visitors with visits >= target in the week; null for roles without a target';

create table if not exists mart.staff_week_visits (
    iso_year integer not null,
    iso_week integer not null,
    week_start date not null,
    visitor_id text not null,
    visitor_role text not null,
    visits integer not null,
    target numeric(20, 4),
    meets_target boolean
);
comment on table mart.staff_week_visits is 'Visits per staff member and ISO week (one row per role when a visitor''s role changed within a week, so rows add up to mart.visits_per_staff_week). Grain: ISO week x visitor_id x visitor_role.';
comment on column mart.staff_week_visits.iso_year is 'ISO 8601 week-numbering year';
comment on column mart.staff_week_visits.iso_week is 'ISO 8601 week number (1-53)';
comment on column mart.staff_week_visits.week_start is 'Monday of the week';
comment on column mart.staff_week_visits.visitor_id is 'Staff number of the visitor (no name: names never leave staging)';
comment on column mart.staff_week_visits.visitor_role is 'Role logged with the visits';
comment on column mart.staff_week_visits.visits is 'Visits in the week, every channel';
comment on column mart.staff_week_visits.target is 'Visits per week required; only for 片长, null for other roles';
comment on column mart.staff_week_visits.meets_target is 'visits >= target; null for roles without a target';

create table if not exists mart.key_enterprise_coverage (
    quarter_start date not null,
    quarter_end date not null,
    quarter_label text not null,
    park_code text not null,
    park_name text not null,
    key_enterprises integer not null,
    flagged_key_enterprises integer not null,
    tagged_key_enterprises integer not null,
    visited_key_enterprises integer not null,
    coverage_pct numeric(20, 4)
);
comment on table mart.key_enterprise_coverage is '重点企业走访覆盖率 per quarter (quarters from the first to the latest visit) and park, plus a zone-wide row with park_code ''all''; a row only where there are key enterprises. Grain: quarter x park_code.';
comment on column mart.key_enterprise_coverage.quarter_start is 'First day of the quarter';
comment on column mart.key_enterprise_coverage.quarter_end is 'Last day of the quarter';
comment on column mart.key_enterprise_coverage.quarter_label is 'Quarter, e.g. 2025Q1';
comment on column mart.key_enterprise_coverage.park_code is 'Park of the key enterprise (its latest visit''s park up to the quarter end, else its registered park), or ''all'' for the zone';
comment on column mart.key_enterprise_coverage.park_name is 'Park name in Chinese; 全区 for the zone-wide row';
comment on column mart.key_enterprise_coverage.key_enterprises is 'Key enterprises of the quarter: flagged key in any visit up to the quarter end, united with active enterprises tagged 独角兽/隐形冠军 at the quarter end';
comment on column mart.key_enterprise_coverage.flagged_key_enterprises is 'Of which flagged is_key_enterprise in a visit up to the quarter end';
comment on column mart.key_enterprise_coverage.tagged_key_enterprises is 'Of which active and tagged with a tag counting for 独角兽/隐形冠军 at the quarter end (a firm can be both flagged and tagged)';
comment on column mart.key_enterprise_coverage.visited_key_enterprises is 'Key enterprises with at least one visit dated within the quarter';
comment on column mart.key_enterprise_coverage.coverage_pct is 'visited_key_enterprises / key_enterprises * 100';

create table if not exists mart.needs_resolution (
    raised_month date not null,
    park_code text not null,
    park_name text not null,
    category text not null,
    needs_raised integer not null,
    needs_resolved integer not null,
    resolution_rate numeric(20, 4) not null,
    median_days_to_resolve numeric(20, 4)
);
comment on table mart.needs_resolution is '诉求办结率 / 办结时长 by month raised, park and category, with total rows (park_code ''all'', category ''全部'', or both) computed from the needs themselves, so medians are never averaged. Status as currently loaded. Grain: raised_month x park_code x category.';
comment on column mart.needs_resolution.raised_month is 'First day of the month of the need''s raised_date (current record)';
comment on column mart.needs_resolution.park_code is 'Park of the visit that carried the need''s latest record, or ''all''';
comment on column mart.needs_resolution.park_name is 'Park name in Chinese; 全区 for park_code ''all''';
comment on column mart.needs_resolution.category is 'Need category, or 全部 for all categories';
comment on column mart.needs_resolution.needs_raised is 'Needs raised in the month';
comment on column mart.needs_resolution.needs_resolved is 'Of those, currently 已办结';
comment on column mart.needs_resolution.resolution_rate is 'needs_resolved / needs_raised * 100';
comment on column mart.needs_resolution.median_days_to_resolve is 'Median of resolved_date - raised_date in days over the resolved needs (mean of the two middle values for an even count); null when none is resolved';

create table if not exists mart.need_status (
    need_id text not null,
    category text not null,
    status text not null,
    is_resolved boolean not null,
    raised_date date not null,
    raised_month date not null,
    resolved_date date,
    days_to_resolve integer,
    satisfaction integer,
    park_code text,
    uscc text not null,
    enterprise_known boolean not null,
    first_visit_date date not null,
    last_visit_date date not null,
    records integer not null,
    status_changes integer not null,
    is_recurring boolean not null
);
comment on table mart.need_status is 'Every need in its current state (latest record wins) with its history size and whether it belongs to a 共性诉求 episode. Grain: need_id.';
comment on column mart.need_status.need_id is 'Need id from the platform';
comment on column mart.need_status.category is 'Need category (人才, 资金, 空间, 审批, 政策, 供应链, 知识产权, 其他)';
comment on column mart.need_status.status is 'Current status: 待处理, 处理中 or 已办结';
comment on column mart.need_status.is_resolved is 'status = 已办结';
comment on column mart.need_status.raised_date is 'Date raised (current record)';
comment on column mart.need_status.raised_month is 'First day of the month of raised_date';
comment on column mart.need_status.resolved_date is 'Date resolved, when 已办结';
comment on column mart.need_status.days_to_resolve is 'resolved_date - raised_date in days, when 已办结';
comment on column mart.need_status.satisfaction is 'Satisfaction 1-5, when 已办结';
comment on column mart.need_status.park_code is 'Park of the visit that carried the latest record';
comment on column mart.need_status.uscc is 'USCC of the enterprise that raised the need (enterprise of the visit carrying the latest record)';
comment on column mart.need_status.enterprise_known is 'Whether the USCC is known to the registry (core.dim_enterprise_current)';
comment on column mart.need_status.first_visit_date is 'Date of the first visit that reported the need';
comment on column mart.need_status.last_visit_date is 'Date of the visit that carried the latest record';
comment on column mart.need_status.records is 'Records received for the need';
comment on column mart.need_status.status_changes is 'Statuses in its history, repeated statuses collapsed (core.fct_need_status_changes)';
comment on column mart.need_status.is_recurring is 'Its category and raised_date fall in the span of a 共性诉求 episode (mart.recurring_needs)';

create table if not exists mart.recurring_needs (
    category text not null,
    episode_start date not null,
    first_hot_day date not null,
    last_hot_day date not null,
    hot_days integer not null,
    enterprises integer not null,
    needs integer not null,
    peak_enterprises_7d integer not null,
    parks text
);
comment on table mart.recurring_needs is '共性诉求 episodes: a day D is hot for a category when at least target_value distinct enterprises raised a need of it in [D - window_days + 1, D] (core.dim_kpi_target recurring_needs: 5 in 7 days); an episode is a maximal run of consecutive hot days. Grain: category x episode (first_hot_day).';
comment on column mart.recurring_needs.category is 'Need category';
comment on column mart.recurring_needs.episode_start is 'Start of the episode''s span: first_hot_day - window_days + 1';
comment on column mart.recurring_needs.first_hot_day is 'First hot day of the run';
comment on column mart.recurring_needs.last_hot_day is 'Last hot day of the run';
comment on column mart.recurring_needs.hot_days is 'Consecutive hot days in the run';
comment on column mart.recurring_needs.enterprises is 'Distinct enterprises (USCC) raising a need of the category within the span [episode_start, last_hot_day]';
comment on column mart.recurring_needs.needs is 'Needs of the category raised within the span';
comment on column mart.recurring_needs.peak_enterprises_7d is 'Largest count of distinct enterprises in one window over the hot days';
comment on column mart.recurring_needs.parks is 'Park codes of those needs, distinct, sorted, joined by ";"';

create table if not exists mart.agent_services (
    month date not null,
    park_code text not null,
    park_name text not null,
    services integer not null,
    agents integer not null,
    enterprises integer not null,
    needs_reported integer not null
);
comment on table mart.agent_services is '首席代办员代办次数: visits logged by 首席代办员 per month and park (only cells with at least one service). Grain: month x park_code.';
comment on column mart.agent_services.month is 'First day of the month of the visit';
comment on column mart.agent_services.park_code is 'Park of the visit';
comment on column mart.agent_services.park_name is 'Park name in Chinese';
comment on column mart.agent_services.services is 'Visits logged by 首席代办员';
comment on column mart.agent_services.agents is 'Distinct 首席代办员 (visitor_id)';
comment on column mart.agent_services.enterprises is 'Distinct enterprises served (USCC)';
comment on column mart.agent_services.needs_reported is 'Needs reported in those visits';

-- Incubators (feed 3), docs/measures.md.
create table if not exists mart.incubator_monthly (
    report_month date not null,
    incubator_id text not null,
    incubator_name text not null,
    level text not null,
    park_code text,
    incubatees integer not null,
    new_incubatees integer not null,
    graduated integer not null,
    graduated_cumulative integer not null,
    funded_incubatees integer not null,
    funded_share numeric(20, 4),
    funding_10k numeric(20, 4) not null,
    incubation_area_m2 numeric(20, 4) not null,
    incubatee_revenue_10k numeric(20, 4) not null,
    revenue_per_m2_10k numeric(20, 4),
    ip_granted integer not null,
    incubatee_employees integer not null,
    is_high_quality boolean not null,
    is_late boolean not null,
    version_count integer not null,
    has_tenant_list boolean not null,
    tenants_listed integer,
    tenants_known integer
);
comment on table mart.incubator_monthly is 'Monthly incubator measures from the current report version (a resubmission replaces the earlier one). Grain: report_month x incubator_id.';
comment on column mart.incubator_monthly.report_month is 'First day of the reporting month';
comment on column mart.incubator_monthly.incubator_id is 'Incubator id (孵化器编号)';
comment on column mart.incubator_monthly.incubator_name is 'Incubator name as reported';
comment on column mart.incubator_monthly.level is '国家级, 市级 or 区级';
comment on column mart.incubator_monthly.park_code is 'Park of the incubator in this report';
comment on column mart.incubator_monthly.incubatees is 'Enterprises incubated (在孵企业数)';
comment on column mart.incubator_monthly.new_incubatees is 'New incubatees in the month';
comment on column mart.incubator_monthly.graduated is 'Graduated in the month';
comment on column mart.incubator_monthly.graduated_cumulative is 'Graduated since opening';
comment on column mart.incubator_monthly.funded_incubatees is 'Incubatees that received investment in the month';
comment on column mart.incubator_monthly.funded_share is 'funded_incubatees / incubatees * 100; null when there is no incubatee';
comment on column mart.incubator_monthly.funding_10k is 'Investment received, 万元';
comment on column mart.incubator_monthly.incubation_area_m2 is 'Incubation floor area, m2';
comment on column mart.incubator_monthly.incubatee_revenue_10k is 'Revenue of the incubatees, 万元';
comment on column mart.incubator_monthly.revenue_per_m2_10k is 'incubatee_revenue_10k / incubation_area_m2 (万元 per m2); null when the area is 0';
comment on column mart.incubator_monthly.ip_granted is 'Intellectual property rights granted';
comment on column mart.incubator_monthly.incubatee_employees is 'Employees of the incubatees';
comment on column mart.incubator_monthly.is_high_quality is 'The report says 高质量孵化器 = 是';
comment on column mart.incubator_monthly.is_late is 'Delivered after the month following the report month';
comment on column mart.incubator_monthly.version_count is 'Versions received for the month (1 = never resubmitted)';
comment on column mart.incubator_monthly.has_tenant_list is 'Whether the current version had the sheet 在孵企业名单 (an empty sheet is a list with no tenants)';
comment on column mart.incubator_monthly.tenants_listed is 'Distinct enterprises in 在孵企业名单; null when the workbook had no such sheet';
comment on column mart.incubator_monthly.tenants_known is 'Of which known to the registry (core.dim_enterprise_current); null when no list';

create table if not exists mart.high_quality_incubators (
    month date not null,
    park_code text not null,
    park_name text not null,
    incubators integer not null,
    high_quality_incubators integer not null,
    reporting_incubators integer not null
);
comment on table mart.high_quality_incubators is '高质量孵化器数量 as of each month from the first to the latest report month: incubators whose latest report up to the month says 高质量孵化器, per park of that report and zone-wide (park_code ''all''); park rows only where the park has incubators. Grain: month x park_code.';
comment on column mart.high_quality_incubators.month is 'First day of the month M (as of M: the latest report with report_month <= M counts)';
comment on column mart.high_quality_incubators.park_code is 'Park in the incubator''s latest report up to M, or ''all''';
comment on column mart.high_quality_incubators.park_name is 'Park name in Chinese; 全区 for the zone-wide row';
comment on column mart.high_quality_incubators.incubators is 'Incubators with a report up to M';
comment on column mart.high_quality_incubators.high_quality_incubators is 'Of which high-quality in their latest report up to M';
comment on column mart.high_quality_incubators.reporting_incubators is 'Of which reported for M itself (the others count with an older report)';

-- Park evaluation (园区考核评估), docs/measures.md; weights and thresholds in core.dim_park_evaluation_*.
create table if not exists mart.park_evaluation (
    year integer not null,
    as_of_date date not null,
    is_latest_of_year boolean not null,
    park_code text not null,
    park_name text not null,
    new_tech_enterprises integer,
    new_tech_score numeric(20, 4),
    incubators integer,
    incubator_quality_score numeric(20, 4),
    needs_raised integer,
    needs_resolution_score numeric(20, 4),
    key_coverage_quarters integer,
    key_coverage_score numeric(20, 4),
    components_scored integer not null,
    score numeric(20, 4),
    rank integer,
    in_failing_band boolean,
    status text,
    leading_industry_count integer not null,
    too_many_leading_industries boolean not null
);
-- Columns added when the evaluation became one per as-of date (it was one per year): "create table
-- if not exists" leaves an existing table alone, so existing warehouses get them here (idempotent;
-- the rebuild replaces every row).
alter table mart.park_evaluation add column if not exists as_of_date date;
alter table mart.park_evaluation add column if not exists is_latest_of_year boolean;
comment on table mart.park_evaluation is '园区考核评估 as of each day: per park, the composite score of the year of as_of_date from the data dated 1 January to as_of_date, rank, status (正常, 通报, 摘牌) and the 主导产业 check. Grain: as_of_date x park_code. Every park, every day from the first day both daily feeds have data in the year to 31 December or the latest day they cover; each year''s final (or latest) evaluation: where is_latest_of_year.';
comment on column mart.park_evaluation.year is 'Calendar year evaluated (the year of as_of_date)';
comment on column mart.park_evaluation.as_of_date is 'Evaluation as of this day: data dated from 1 January up to it (docs/measures.md, park evaluation)';
comment on column mart.park_evaluation.is_latest_of_year is 'The year''s last as_of_date: 31 December for a past year, the latest day the daily feeds cover (the day before their latest delivery) for the current one';
comment on column mart.park_evaluation.park_code is 'Park code (core.dim_park)';
comment on column mart.park_evaluation.park_name is 'Park name in Chinese';
comment on column mart.park_evaluation.new_tech_enterprises is 'New tech enterprises from 1 January to as_of_date (sum of the daily distinct counts of mart.daily_new_tech_enterprises)';
comment on column mart.park_evaluation.new_tech_score is 'new_tech_enterprises / the best park''s value that day * 100; null when no park has one';
comment on column mart.park_evaluation.incubators is 'Incubators with a report for a month of the year ended by as_of_date, in the park of their latest such report';
comment on column mart.park_evaluation.incubator_quality_score is 'Share of those high-quality in that latest report, %; null without incubators';
comment on column mart.park_evaluation.needs_raised is 'Needs raised from 1 January to as_of_date in the park (current record); null without needs';
comment on column mart.park_evaluation.needs_resolution_score is 'Share of those needs 已办结 with resolved_date on or before as_of_date, %; null without needs';
comment on column mart.park_evaluation.key_coverage_quarters is 'Quarters of the year up to that of as_of_date in which the park has key enterprises (that of as_of_date once a visit is dated in it)';
comment on column mart.park_evaluation.key_coverage_score is 'Mean key-enterprise coverage over those quarters, %: an ended quarter whole, that of as_of_date to date (visits from its start to as_of_date); null without key enterprises';
comment on column mart.park_evaluation.components_scored is 'Components with data (0-4); the weights of the others are rescaled away';
comment on column mart.park_evaluation.score is 'Weighted mean of the component scores (weights rescaled over the components with data), 0-100; null when no component has data';
comment on column mart.park_evaluation.rank is '1 = highest score as of the day among parks with a score; ties share the rank';
comment on column mart.park_evaluation.in_failing_band is 'score below failing_score_below (core.dim_park_evaluation_rule); null without a score';
comment on column mart.park_evaluation.status is '摘牌 when in the failing band as of the day and in the previous year''s final evaluation (is_latest_of_year), 通报 when as of the day only, 正常 otherwise; null without a score';
comment on column mart.park_evaluation.leading_industry_count is 'Leading industries configured for the park (core.dim_park)';
comment on column mart.park_evaluation.too_many_leading_industries is 'More than max_leading_industries (主导产业不超过3个)';
