-- Enterprises and insured employees per leading industry, current
-- Active enterprises only; enterprises without a leading industry are left out.
select leading_industry,
    count(*) as active_enterprises,
    sum(insured_employees) as insured_employees
from core.dim_enterprise_current
where is_active and leading_industry is not null
group by leading_industry
order by leading_industry;
