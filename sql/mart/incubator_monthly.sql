-- Monthly incubator measures from the current report versions (docs/measures.md). Ratios are null,
-- not zero, when their denominator is zero: no incubatee, no floor area.
with reports as (
    select * from core.fct_incubator_reports
),

tenant_counts as (
    select
        incubator_id,
        report_month,
        count(*) as tenants_listed,
        sum(case when enterprise_known then 1 else 0 end) as tenants_known
    from core.fct_incubator_tenants
    group by incubator_id, report_month
),

final as (
    select
        reports.report_month,
        reports.incubator_id,
        reports.incubator_name,
        reports.level,
        reports.park_code,
        reports.incubatees,
        reports.new_incubatees,
        reports.graduated,
        reports.graduated_cumulative,
        reports.funded_incubatees,
        cast(
            cast(reports.funded_incubatees as numeric(20, 4)) * 100 / nullif(reports.incubatees, 0) as numeric(20, 4)
        ) as funded_share,
        reports.funding_10k,
        reports.incubation_area_m2,
        reports.incubatee_revenue_10k,
        cast(reports.incubatee_revenue_10k / nullif(reports.incubation_area_m2, 0) as numeric(20, 4))
            as revenue_per_m2_10k,
        reports.ip_granted,
        reports.incubatee_employees,
        reports.is_high_quality,
        reports.is_late,
        reports.version_count,
        reports.has_tenant_list,
        -- No sheet 在孵企业名单: unknown (null); an empty sheet: 0.
        case when reports.has_tenant_list then cast(coalesce(tenant_counts.tenants_listed, 0) as integer) end
            as tenants_listed,
        case when reports.has_tenant_list then cast(coalesce(tenant_counts.tenants_known, 0) as integer) end
            as tenants_known
    from reports
    left join tenant_counts
        on tenant_counts.incubator_id = reports.incubator_id
        and tenant_counts.report_month = reports.report_month
)

select * from final
