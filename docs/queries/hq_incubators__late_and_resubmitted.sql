-- Incubator reports delivered late or resubmitted
-- Current version per incubator and month (a resubmission replaces the earlier one): late means delivered after the month following the report month.
select report_month, incubator_id, incubator_name, park_code, is_late, version_count, is_high_quality,
    funded_share, revenue_per_m2_10k
from mart.incubator_monthly
where is_late or version_count > 1
order by report_month desc, incubator_id;
