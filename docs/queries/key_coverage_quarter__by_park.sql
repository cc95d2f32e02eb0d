-- 重点企业走访覆盖率 per park, latest quarter
-- Key enterprises (flagged in visits, or active 独角兽/隐形冠军) and those visited in the quarter; the 'all' row is the zone. Lowest coverage first.
select quarter_label, park_code, park_name, key_enterprises, flagged_key_enterprises,
    tagged_key_enterprises, visited_key_enterprises, coverage_pct
from mart.key_enterprise_coverage
where quarter_start = (select max(quarter_start) from mart.key_enterprise_coverage)
order by case when park_code = 'all' then 0 else 1 end, coverage_pct, park_code;
