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
comment on table mart.kpi_target_progress is 'Progress of every target in kpis.md per as-of date. Grain: as_of_date x kpi_code. A target whose feed has no data yet has data_status = ''no data'' and null actual (never zero).';
comment on column mart.kpi_target_progress.as_of_date is 'Figures count events dated on or before this day; the latest as-of date is the day before the latest delivery';
comment on column mart.kpi_target_progress.actual is 'new_tech_per_day: year-to-date average per calendar day; counts: level on the as-of date';
comment on column mart.kpi_target_progress.attainment is 'actual / target';
comment on column mart.kpi_target_progress.on_track is 'Whether the current run rate (last 30 days) reaches the target by the due date; after the due date, whether the target is met';
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
comment on column mart.kpi_target_progress.unit is 'Unit of actual and target, e.g. 家/日, 人, %';
comment on column mart.kpi_target_progress.direction is 'at_least, more_than, between, threshold or none';
comment on column mart.kpi_target_progress.data_status is 'ok, or no data when the feed behind the KPI has not delivered';
comment on column mart.kpi_target_progress.due_date is 'Date by which the target is due (policy targets: 2025-12-31)';
