create table if not exists core.dim_park (
    park_code text not null,
    park_name text not null,
    district text not null,
    division_code text not null,
    leading_industries text,
    leading_industry_count integer not null,
    publicly_confirmed boolean not null
);
comment on table core.dim_park is 'The zone''s parks (seed seeds/parks.csv), reloaded on every run';
comment on column core.dim_park.leading_industries is 'The park''s 主导产业 joined by ";" (policy: at most 3)';

create table if not exists core.dim_industry_class (
    class_code text not null,
    class_name text not null,
    division_code text not null,
    division_name text not null,
    section_code text not null,
    section_name text not null,
    high_tech_category text,
    is_tech boolean not null,
    leading_industry text
);
comment on table core.dim_industry_class is 'GB/T 4754-2017 industry classes with the tech flag and the leading-industry mapping (seed seeds/industry_classes.csv)';
comment on column core.dim_industry_class.is_tech is 'High-tech manufacturing (国家统计局 2017) or divisions 63-65, 73-75 (kpis.md)';
comment on column core.dim_industry_class.leading_industry is '集成电路, 生物医药 or 人工智能 when the class belongs to a leading industry (先导产业)';

create table if not exists core.dim_qualification_tag (
    tag text not null,
    makes_tech_enterprise boolean not null,
    counts_for_unicorn_champions boolean not null,
    description text
);
comment on table core.dim_qualification_tag is 'Qualification tags (资质标签) and what they count for (seed seeds/qualification_tags.csv)';

create table if not exists core.dim_kpi_target (
    kpi_code text not null,
    kpi_name text not null,
    category text not null,
    target_value numeric(20, 4),
    target_upper numeric(20, 4),
    unit text,
    direction text not null,
    due_date date,
    source text not null,
    definition text,
    window_days integer,
    qualifying_value numeric(20, 4)
);
comment on table core.dim_kpi_target is 'Policy targets and service-measure targets of kpis.md as data (seed seeds/kpi_targets.csv)';
comment on column core.dim_kpi_target.direction is 'at_least, more_than, between (target_value..target_upper), threshold or none';

create table if not exists core.fct_registration_events (
    event_key text not null,
    uscc text not null,
    event_type text not null,
    event_date date not null,
    delivery_date date not null,
    event_sequence integer not null,
    enterprise_name text not null,
    park_code text,
    industry_code text,
    is_tech boolean not null,
    is_new_enterprise boolean not null,
    is_new_tech_enterprise boolean not null,
    ends_enterprise boolean not null,
    source_file text not null,
    source_sha256 text not null,
    source_row_number integer not null,
    run_id text not null
);
comment on table core.fct_registration_events is 'One row per registration event, in lifecycle order per enterprise; no personal data';
comment on column core.fct_registration_events.event_key is 'Stable key: sha256 of the source file bytes and the row number';
comment on column core.fct_registration_events.event_sequence is 'Order of the event in the enterprise''s life: by event_date, then delivery order (delivery day, file, row)';
comment on column core.fct_registration_events.is_tech is 'Tech enterprise as of this event: tech industry class or a tag that makes it one';
comment on column core.fct_registration_events.is_new_tech_enterprise is '设立 or 迁入 of a tech enterprise: counts towards 日均新增科技企业';
comment on column core.fct_registration_events.ends_enterprise is '注销, 吊销 or 迁出';

create table if not exists core.dim_enterprise (
    uscc text not null,
    version integer not null,
    valid_from date not null,
    valid_to date,
    is_current boolean not null,
    enterprise_name text not null,
    enterprise_type text,
    established_date date not null,
    registered_capital_10k numeric(20, 4),
    currency text,
    industry_code text,
    park_code text,
    qualification_tags text,
    insured_employees integer,
    is_tech boolean not null,
    leading_industry text,
    is_unicorn_or_champion boolean not null,
    last_event_type text not null,
    is_active boolean not null,
    event_key text not null
);
comment on table core.dim_enterprise is 'Enterprises, slowly changing dimension type 2: one version per registration event, valid from its event_date until the next event''s; no personal data';
comment on column core.dim_enterprise.valid_to is 'Exclusive end of validity; null for the current version';
comment on column core.dim_enterprise.is_active is 'False once the latest event is 注销, 吊销 or 迁出';
comment on column core.dim_enterprise.is_unicorn_or_champion is 'Tagged 独角兽 or 隐形冠军 (per core.dim_qualification_tag)';

create or replace view core.dim_enterprise_current as
select * from core.dim_enterprise where is_current;
comment on view core.dim_enterprise_current is 'Current version of every enterprise ever registered in the zone (active or ended)';

comment on column core.dim_park.park_code is 'Stable park code (ASCII), e.g. zhangjiang_core';
comment on column core.dim_park.park_name is 'Park name in Chinese as in the registry, e.g. 张江核心园';
comment on column core.dim_park.district is 'Shanghai district of the park, e.g. 浦东新区';
comment on column core.dim_park.division_code is 'GB/T 2260 code of the district, e.g. 310115';
comment on column core.dim_park.leading_industry_count is 'Number of leading industries configured (policy: at most 3)';
comment on column core.dim_park.publicly_confirmed is 'Whether a public source confirms the park belongs to the zone';
comment on column core.dim_industry_class.class_code is 'GB/T 4754-2017 class (小类), 4 digits';
comment on column core.dim_industry_class.class_name is 'Class name in Chinese';
comment on column core.dim_industry_class.division_code is 'Division (大类), first 2 digits of the class';
comment on column core.dim_industry_class.division_name is 'Division name in Chinese';
comment on column core.dim_industry_class.section_code is 'Section (门类) letter A-T';
comment on column core.dim_industry_class.section_name is 'Section name in Chinese';
comment on column core.dim_industry_class.high_tech_category is 'Category in 高技术产业（制造业）分类 2017, empty when not high-tech manufacturing';
comment on column core.dim_qualification_tag.tag is 'Tag as written in 资质标签, e.g. 高新技术企业';
comment on column core.dim_qualification_tag.makes_tech_enterprise is 'Whether the tag makes an enterprise a tech enterprise (kpis.md)';
comment on column core.dim_qualification_tag.counts_for_unicorn_champions is 'Whether the tag counts for the 独角兽/隐形冠军 target';
comment on column core.dim_qualification_tag.description is 'Definition of the tag';
comment on column core.dim_kpi_target.kpi_code is 'Stable KPI code';
comment on column core.dim_kpi_target.kpi_name is 'KPI name in Chinese';
comment on column core.dim_kpi_target.category is 'policy or service';
comment on column core.dim_kpi_target.target_value is 'Target value (lower bound when direction is between)';
comment on column core.dim_kpi_target.target_upper is 'Upper bound, only when direction is between';
comment on column core.dim_kpi_target.unit is 'Unit of the target';
comment on column core.dim_kpi_target.due_date is 'Due date; empty for ongoing service measures';
comment on column core.dim_kpi_target.source is 'Feed the KPI is measured from: registrations, visits, incubator_reports or manual_statistics';
comment on column core.dim_kpi_target.definition is 'How the KPI is measured (kpis.md)';
comment on column core.fct_registration_events.uscc is 'Unified Social Credit Code (统一社会信用代码) of the enterprise';
comment on column core.fct_registration_events.event_type is '设立, 变更, 注销, 吊销, 迁入 or 迁出';
comment on column core.fct_registration_events.event_date is 'Date of the registration event (事件日期)';
comment on column core.fct_registration_events.delivery_date is 'Delivery day of the file the event came in';
comment on column core.fct_registration_events.enterprise_name is 'Enterprise name as registered at this event';
comment on column core.fct_registration_events.park_code is 'Park of the enterprise at this event';
comment on column core.fct_registration_events.industry_code is 'GB/T 4754-2017 class at this event';
comment on column core.fct_registration_events.is_new_enterprise is '设立 or 迁入';
comment on column core.fct_registration_events.source_file is 'Landed file the event came from (lineage)';
comment on column core.fct_registration_events.source_sha256 is 'SHA-256 of that file version (lineage)';
comment on column core.fct_registration_events.source_row_number is 'Row number in that file as seen in a spreadsheet (lineage)';
comment on column core.fct_registration_events.run_id is 'Airflow run that loaded the file (lineage)';
comment on column core.dim_enterprise.uscc is 'Unified Social Credit Code (统一社会信用代码)';
comment on column core.dim_enterprise.version is 'Version number: the event''s position in the enterprise''s life (1 = first event seen)';
comment on column core.dim_enterprise.valid_from is 'Event date that opened this version (inclusive)';
comment on column core.dim_enterprise.is_current is 'True for the latest version of the enterprise';
comment on column core.dim_enterprise.enterprise_name is 'Enterprise name as registered';
comment on column core.dim_enterprise.enterprise_type is 'Enterprise type as registered, e.g. 有限责任公司（自然人投资或控股）';
comment on column core.dim_enterprise.established_date is 'Date of establishment (成立日期)';
comment on column core.dim_enterprise.registered_capital_10k is 'Registered capital in 万 of currency';
comment on column core.dim_enterprise.currency is 'Currency of the registered capital (人民币 by default)';
comment on column core.dim_enterprise.industry_code is 'GB/T 4754-2017 class';
comment on column core.dim_enterprise.park_code is 'Park (core.dim_park)';
comment on column core.dim_enterprise.qualification_tags is 'Qualification tags joined by ";"';
comment on column core.dim_enterprise.insured_employees is 'Insured employees (参保人数)';
comment on column core.dim_enterprise.is_tech is 'Tech enterprise: tech industry class or a tag that makes one';
comment on column core.dim_enterprise.leading_industry is '集成电路, 生物医药 or 人工智能 when the industry class belongs to a leading industry';
comment on column core.dim_enterprise.last_event_type is 'Type of the event that opened this version';
comment on column core.dim_enterprise.event_key is 'Key of that event in core.fct_registration_events';

-- Columns added to core.dim_kpi_target after its first release: "create table if not exists"
-- leaves an existing table alone, so existing warehouses get them here (idempotent).
alter table core.dim_kpi_target add column if not exists window_days integer;
alter table core.dim_kpi_target add column if not exists qualifying_value numeric(20, 4);
comment on column core.dim_kpi_target.window_days is 'Length in days of the detection window, for rules judged over a window (recurring_needs: 7, the window [D - 6, D])';
comment on column core.dim_kpi_target.qualifying_value is 'Value an item must reach to be counted (trillion_parks: a park''s 产业规模 in 亿元, 10000 = 1 万亿); its unit is documented in seeds/README.md, not in unit (which is the target''s)';

-- Park evaluation (园区考核评估) reference data: docs/measures.md, seeds/README.md.
create table if not exists core.dim_park_evaluation_weight (
    component text not null,
    weight numeric(10, 4) not null,
    raw_value text not null,
    score_rule text not null
);
comment on table core.dim_park_evaluation_weight is 'Components of the yearly park evaluation score and their weights (seed seeds/park_evaluation_weights.csv); a component without data for a park is left out and the other weights are rescaled';
comment on column core.dim_park_evaluation_weight.component is 'new_tech, incubator_quality, needs_resolution or key_coverage (columns <component>_score of mart.park_evaluation)';
comment on column core.dim_park_evaluation_weight.weight is 'Weight of the component in the score; the weights sum to 1';
comment on column core.dim_park_evaluation_weight.raw_value is 'What is measured for the component (Chinese)';
comment on column core.dim_park_evaluation_weight.score_rule is 'How the raw value becomes a 0-100 score (Chinese)';

create table if not exists core.dim_park_evaluation_rule (
    rule_code text not null,
    rule_value numeric(20, 4) not null,
    unit text not null,
    description text not null
);
comment on table core.dim_park_evaluation_rule is 'Thresholds of the yearly park evaluation (seed seeds/park_evaluation_rules.csv): failing band, maximum number of leading industries';
comment on column core.dim_park_evaluation_rule.rule_code is 'failing_score_below (a score below it is in the failing band) or max_leading_industries (主导产业不超过3个)';
comment on column core.dim_park_evaluation_rule.rule_value is 'Threshold value';
comment on column core.dim_park_evaluation_rule.unit is 'Unit of the threshold (分, 个)';
comment on column core.dim_park_evaluation_rule.description is 'What the rule means (Chinese)';

-- Visits and needs (feed 2). Personal data: visitor_name stays in staging; visitor_id is a staff
-- number (not a person's name or contact), kept so that visits per staff member can be counted.
create table if not exists core.fct_visits (
    visit_id text not null,
    visit_date date not null,
    iso_year integer not null,
    iso_week integer not null,
    week_start date not null,
    visitor_id text not null,
    visitor_role text not null,
    area text,
    park_code text,
    uscc text not null,
    enterprise_name text,
    enterprise_known boolean not null,
    channel text not null,
    is_key_enterprise boolean not null,
    need_count integer not null,
    delivery_date date not null,
    source_file text not null,
    source_sha256 text not null,
    source_row_number integer not null,
    run_id text not null
);
comment on table core.fct_visits is 'One row per visit (visit_id), every channel; no personal data (the visitor''s name stays in staging, visitor_id is a staff number)';
comment on column core.fct_visits.visit_id is 'Visit id from the platform, unique across the feed (a repeated id is quarantined at ingestion)';
comment on column core.fct_visits.visit_date is 'Date of the visit';
comment on column core.fct_visits.iso_year is 'ISO 8601 week-numbering year of visit_date (2024-12-30 belongs to 2025)';
comment on column core.fct_visits.iso_week is 'ISO 8601 week number of visit_date (1-53)';
comment on column core.fct_visits.week_start is 'Monday of the ISO week of visit_date';
comment on column core.fct_visits.visitor_id is 'Staff number of the visitor (e.g. S0107); not personal data in the sense of this warehouse: no name, no contact';
comment on column core.fct_visits.visitor_role is '楼长, 片长, 服务总监 or 首席代办员, as logged with the visit';
comment on column core.fct_visits.area is 'Service area (片区) of the visit, e.g. 张江中区';
comment on column core.fct_visits.park_code is 'Park of the visit line (core.dim_park)';
comment on column core.fct_visits.uscc is 'USCC of the visited enterprise, kept even when unknown to the registry (enterprise_known)';
comment on column core.fct_visits.enterprise_name is 'Enterprise name as logged by the visitor';
comment on column core.fct_visits.enterprise_known is 'Whether the USCC is in core.dim_enterprise_current as of the last build (unknown ones are listed in ops.unknown_enterprise_references)';
comment on column core.fct_visits.channel is '上门走访, 电话 or 线上';
comment on column core.fct_visits.is_key_enterprise is 'The platform flags the enterprise as key (重点企业) on this visit';
comment on column core.fct_visits.need_count is 'Needs reported in the visit (rows in core.fct_need_records)';
comment on column core.fct_visits.delivery_date is 'Delivery day of the file the visit came in';
comment on column core.fct_visits.source_file is 'Landed file the visit came from (lineage)';
comment on column core.fct_visits.source_sha256 is 'SHA-256 of that file version (lineage)';
comment on column core.fct_visits.source_row_number is 'Line number in that file (lineage)';
comment on column core.fct_visits.run_id is 'Airflow run that loaded the file (lineage)';

create table if not exists core.dim_visitor (
    visitor_id text not null,
    visitor_role text not null,
    area text,
    park_code text,
    first_visit_date date not null,
    last_visit_date date not null,
    visits integer not null
);
comment on table core.dim_visitor is 'Service staff seen in the visit logs, one row per visitor_id, attributes of their latest visit; no name (it stays in staging)';
comment on column core.dim_visitor.visitor_id is 'Staff number (e.g. S0107)';
comment on column core.dim_visitor.visitor_role is 'Role on the latest visit (measures count each visit under the role logged with it)';
comment on column core.dim_visitor.area is 'Service area (片区) of the latest visit';
comment on column core.dim_visitor.park_code is 'Park of the latest visit';
comment on column core.dim_visitor.first_visit_date is 'Date of the first visit logged';
comment on column core.dim_visitor.last_visit_date is 'Date of the latest visit logged';
comment on column core.dim_visitor.visits is 'Visits logged in total';

create table if not exists core.fct_need_records (
    need_id text not null,
    record_sequence integer not null,
    is_latest boolean not null,
    first_visit_date date not null,
    visit_id text not null,
    visit_date date not null,
    delivery_date date not null,
    need_position integer not null,
    category text not null,
    status text not null,
    raised_date date not null,
    resolved_date date,
    satisfaction integer,
    park_code text,
    uscc text not null,
    enterprise_known boolean not null,
    source_file text not null,
    source_sha256 text not null,
    source_row_number integer not null,
    run_id text not null
);
comment on table core.fct_need_records is 'Every record of every need as received in visits (a need recurs as its status moves), in order per need; the free-text description stays in staging (it may name people)';
comment on column core.fct_need_records.need_id is 'Need id from the platform; the same id recurs in later visits';
comment on column core.fct_need_records.record_sequence is 'Position of the record in the need''s history: by visit_date, delivery_date, source_file, source_row_number, need_position (1 = first)';
comment on column core.fct_need_records.is_latest is 'True for the need''s latest record, which defines its current state (core.need_current)';
comment on column core.fct_need_records.first_visit_date is 'Date of the first visit that reported the need';
comment on column core.fct_need_records.visit_id is 'Visit that carried the record';
comment on column core.fct_need_records.visit_date is 'Date of that visit';
comment on column core.fct_need_records.delivery_date is 'Delivery day of the file the record came in';
comment on column core.fct_need_records.need_position is 'Position of the need in the visit''s needs array (1 = first)';
comment on column core.fct_need_records.category is '人才, 资金, 空间, 审批, 政策, 供应链, 知识产权 or 其他';
comment on column core.fct_need_records.status is '待处理, 处理中 or 已办结';
comment on column core.fct_need_records.raised_date is 'Date the need was raised, as carried by the record';
comment on column core.fct_need_records.resolved_date is 'Date the need was resolved (only when 已办结)';
comment on column core.fct_need_records.satisfaction is 'Satisfaction 1-5 (only when 已办结)';
comment on column core.fct_need_records.park_code is 'Park of the visit that carried the record';
comment on column core.fct_need_records.uscc is 'USCC of the visited enterprise of that visit';
comment on column core.fct_need_records.enterprise_known is 'Whether the USCC is in core.dim_enterprise_current as of the last build';
comment on column core.fct_need_records.source_file is 'Landed file of the visit line (lineage)';
comment on column core.fct_need_records.source_sha256 is 'SHA-256 of that file version (lineage)';
comment on column core.fct_need_records.source_row_number is 'Line number of the visit in that file (lineage)';
comment on column core.fct_need_records.run_id is 'Airflow run that loaded the file (lineage)';

create or replace view core.need_current as
select
    need_id,
    category,
    status,
    raised_date,
    resolved_date,
    satisfaction,
    park_code,
    uscc,
    enterprise_known,
    first_visit_date,
    visit_id,
    visit_date,
    record_sequence as records
from core.fct_need_records
where is_latest;
comment on view core.need_current is 'Current state of every need: its latest record (docs/measures.md: latest record wins), with the park and USCC of the visit that carried it';
comment on column core.need_current.visit_id is 'Visit that carried the latest record';
comment on column core.need_current.visit_date is 'Date of that visit: when the current state was last reported';
comment on column core.need_current.records is 'Records received for the need';

create table if not exists core.fct_need_status_changes (
    need_id text not null,
    change_sequence integer not null,
    status text not null,
    previous_status text,
    changed_on date not null,
    visit_id text not null,
    record_sequence integer not null,
    category text not null,
    park_code text,
    uscc text not null,
    source_file text not null,
    source_row_number integer not null
);
comment on table core.fct_need_status_changes is 'Status history of every need: one row per record whose status differs from the need''s previous record (the first record always counts); repeated statuses collapse into one row';
comment on column core.fct_need_status_changes.need_id is 'Need id';
comment on column core.fct_need_status_changes.change_sequence is 'Position of the change in the need''s history (1 = first status seen)';
comment on column core.fct_need_status_changes.status is 'Status entered: 待处理, 处理中 or 已办结';
comment on column core.fct_need_status_changes.previous_status is 'Status before the change; null for the first record';
comment on column core.fct_need_status_changes.changed_on is 'Date of the visit whose record first showed the status';
comment on column core.fct_need_status_changes.visit_id is 'That visit';
comment on column core.fct_need_status_changes.record_sequence is 'Position of that record in core.fct_need_records';
comment on column core.fct_need_status_changes.category is 'Category carried by that record';
comment on column core.fct_need_status_changes.park_code is 'Park of that visit';
comment on column core.fct_need_status_changes.uscc is 'USCC of the enterprise of that visit';
comment on column core.fct_need_status_changes.source_file is 'Landed file of the visit line (lineage)';
comment on column core.fct_need_status_changes.source_row_number is 'Line number of the visit in that file (lineage)';

-- Incubator reports (feed 3).
create table if not exists core.fct_incubator_reports (
    incubator_id text not null,
    report_month date not null,
    incubator_name text not null,
    level text not null,
    is_high_quality boolean not null,
    park_code text,
    incubation_area_m2 numeric(20, 4) not null,
    incubatees integer not null,
    new_incubatees integer not null,
    graduated integer not null,
    graduated_cumulative integer not null,
    funded_incubatees integer not null,
    funding_10k numeric(20, 4) not null,
    ip_granted integer not null,
    incubatee_employees integer not null,
    incubatee_revenue_10k numeric(20, 4) not null,
    has_tenant_list boolean not null,
    version_count integer not null,
    delivery_date date not null,
    is_late boolean not null,
    source_file text not null,
    source_sha256 text not null,
    source_row_number integer not null,
    run_id text not null
);
comment on table core.fct_incubator_reports is 'Current monthly report per incubator and month: the version delivered last (delivery month, then source_file, then row); a resubmission replaces the earlier version';
comment on column core.fct_incubator_reports.incubator_id is 'Incubator id (孵化器编号)';
comment on column core.fct_incubator_reports.report_month is 'First day of the reporting month (报告期)';
comment on column core.fct_incubator_reports.incubator_name is 'Incubator name as reported';
comment on column core.fct_incubator_reports.level is '国家级, 市级 or 区级';
comment on column core.fct_incubator_reports.is_high_quality is 'The report says 高质量孵化器 = 是';
comment on column core.fct_incubator_reports.park_code is 'Park of the incubator in this report (core.dim_park)';
comment on column core.fct_incubator_reports.incubation_area_m2 is 'Incubation floor area, m2 (孵化场地面积)';
comment on column core.fct_incubator_reports.incubatees is 'Enterprises incubated (在孵企业数)';
comment on column core.fct_incubator_reports.new_incubatees is 'New incubatees in the month';
comment on column core.fct_incubator_reports.graduated is 'Incubatees graduated in the month';
comment on column core.fct_incubator_reports.graduated_cumulative is 'Incubatees graduated since the incubator opened';
comment on column core.fct_incubator_reports.funded_incubatees is 'Incubatees that received investment in the month';
comment on column core.fct_incubator_reports.funding_10k is 'Investment received in the month, 万元';
comment on column core.fct_incubator_reports.ip_granted is 'Intellectual property rights granted (知识产权授权数)';
comment on column core.fct_incubator_reports.incubatee_employees is 'Employees of the incubatees';
comment on column core.fct_incubator_reports.incubatee_revenue_10k is 'Revenue of the incubatees, 万元';
comment on column core.fct_incubator_reports.has_tenant_list is 'Whether the current version had the sheet 在孵企业名单';
comment on column core.fct_incubator_reports.version_count is 'Versions received for this incubator and month (1 = never resubmitted)';
comment on column core.fct_incubator_reports.delivery_date is 'First day of the delivery month of the current version';
comment on column core.fct_incubator_reports.is_late is 'The current version was delivered after the month following the report month';
comment on column core.fct_incubator_reports.source_file is 'Workbook of the current version (lineage)';
comment on column core.fct_incubator_reports.source_sha256 is 'SHA-256 of that workbook (lineage)';
comment on column core.fct_incubator_reports.source_row_number is 'Row in sheet 月报 (lineage)';
comment on column core.fct_incubator_reports.run_id is 'Airflow run that loaded the workbook (lineage)';

create table if not exists core.dim_incubator (
    incubator_id text not null,
    incubator_name text not null,
    level text not null,
    is_high_quality boolean not null,
    park_code text,
    first_report_month date not null,
    last_report_month date not null,
    months_reported integer not null
);
comment on table core.dim_incubator is 'Incubators, one row per incubator_id, attributes of their latest report';
comment on column core.dim_incubator.incubator_id is 'Incubator id (孵化器编号)';
comment on column core.dim_incubator.incubator_name is 'Name in the latest report';
comment on column core.dim_incubator.level is 'Level in the latest report: 国家级, 市级 or 区级';
comment on column core.dim_incubator.is_high_quality is '高质量孵化器 in the latest report';
comment on column core.dim_incubator.park_code is 'Park in the latest report';
comment on column core.dim_incubator.first_report_month is 'First month reported';
comment on column core.dim_incubator.last_report_month is 'Latest month reported';
comment on column core.dim_incubator.months_reported is 'Months with a report';

create table if not exists core.fct_incubator_tenants (
    incubator_id text not null,
    report_month date not null,
    uscc text not null,
    enterprise_known boolean not null,
    park_code text,
    source_file text not null,
    source_sha256 text not null
);
comment on table core.fct_incubator_tenants is 'Enterprises listed in 在孵企业名单 of the current report versions: one row per incubator, month and USCC (a USCC listed twice counts once)';
comment on column core.fct_incubator_tenants.incubator_id is 'Incubator id';
comment on column core.fct_incubator_tenants.report_month is 'First day of the reporting month';
comment on column core.fct_incubator_tenants.uscc is 'USCC of the incubated enterprise, kept even when unknown to the registry';
comment on column core.fct_incubator_tenants.enterprise_known is 'Whether the USCC is in core.dim_enterprise_current as of the last build (unknown ones are listed in ops.unknown_enterprise_references)';
comment on column core.fct_incubator_tenants.park_code is 'Park of the incubator in that report';
comment on column core.fct_incubator_tenants.source_file is 'Workbook of the current version (lineage)';
comment on column core.fct_incubator_tenants.source_sha256 is 'SHA-256 of that workbook (lineage)';

-- Manual statistics (not in the three feeds).
create table if not exists core.fct_manual_statistics (
    kpi_code text not null,
    period_start date not null,
    period_end date not null,
    period_label text not null,
    period_kind text not null,
    park_code text,
    value numeric(20, 4) not null,
    source text not null,
    note text,
    delivery_count integer not null,
    delivery_date date not null,
    source_file text not null,
    source_sha256 text not null,
    source_row_number integer not null,
    run_id text not null
);
comment on table core.fct_manual_statistics is 'Manual statistics, one row per KPI, period and park: the latest delivery wins (delivery day, then source_file, then row)';
comment on column core.fct_manual_statistics.kpi_code is 'KPI the value is for (core.dim_kpi_target, source manual_statistics)';
comment on column core.fct_manual_statistics.period_start is 'First day of the period';
comment on column core.fct_manual_statistics.period_end is 'Last day of the period';
comment on column core.fct_manual_statistics.period_label is 'Period as normalised at ingestion, e.g. 2024, 2025Q1, 2025-03';
comment on column core.fct_manual_statistics.period_kind is 'year, quarter, month, or other (any other span), from period_start and period_end';
comment on column core.fct_manual_statistics.park_code is 'Park (trillion_parks); null for zone-wide figures';
comment on column core.fct_manual_statistics.value is 'Value in the KPI''s unit; trillion_parks: the park''s 产业规模 in 亿元 (compared with qualifying_value)';
comment on column core.fct_manual_statistics.source is 'Where the figure comes from (来源)';
comment on column core.fct_manual_statistics.note is 'Remark (备注)';
comment on column core.fct_manual_statistics.delivery_count is 'Deliveries received for this KPI, period and park (1 = never replaced)';
comment on column core.fct_manual_statistics.delivery_date is 'Delivery day of the winning row';
comment on column core.fct_manual_statistics.source_file is 'Landed file of the winning row (lineage)';
comment on column core.fct_manual_statistics.source_sha256 is 'SHA-256 of that file version (lineage)';
comment on column core.fct_manual_statistics.source_row_number is 'Row number in that file (lineage)';
comment on column core.fct_manual_statistics.run_id is 'Airflow run that loaded the file (lineage)';
