-- Zone-wide new tech enterprises per day from :chart_start to :period_end, with the rolling
-- 30-day average per day as of each day: null while its window reaches before the first day of
-- registration data (days before the history starts would count as days without any new firm).
with first_day as (
    select min(date) as first_date from mart.daily_new_tech_enterprises
),

daily as (
    select date, sum(new_tech_enterprises) as new_tech_enterprises
    from mart.daily_new_tech_enterprises
    where date between :chart_start and :period_end
    group by date
),

rolling as (
    select as_of_date, new_tech_per_day, calendar_days, window_start
    from mart.new_tech_per_day_windows
    where window_code = 'rolling_30d' and as_of_date between :chart_start and :period_end
),

final as (
    select
        daily.date,
        daily.new_tech_enterprises,
        case
            when rolling.calendar_days >= 30 and rolling.window_start >= first_day.first_date
                then rolling.new_tech_per_day
        end as rolling_30d_per_day
    from daily
    cross join first_day
    left join rolling on daily.date = rolling.as_of_date
)

select * from final order by date
