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
    definition text
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
