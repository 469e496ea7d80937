-- Rollup kept in step at ingestion: person_month, from person_day
WITH agg AS (
  SELECT
    source,
    platform,
    person,
    month,
    SUM(CASE WHEN active THEN 1 ELSE 0 END) AS active_days,
    SUM(active_seconds) AS active_seconds,
    SUM(bytes) AS bytes,
    SUM(sessions) AS sessions,
    SUM(installs) AS installs,
    MIN(CASE WHEN active THEN province END) AS active_min,
    MAX(CASE WHEN active THEN province END) AS active_max,
    MIN(province) AS any_min,
    MAX(province) AS any_max
  FROM person_day
  GROUP BY
    source,
    platform,
    person,
    month
), ambiguous AS (
  /* the few person-months seen in two provinces: only they need the ranking below */
  SELECT
    source,
    platform,
    person,
    month
  FROM agg
  WHERE
    (
      active_days > 0 AND active_min <> active_max
    )
    OR (
      active_days = 0 AND any_min <> any_max
    )
), prov AS (
  SELECT
    d.source,
    d.platform,
    d.person,
    d.month,
    d.province,
    SUM(CASE WHEN d.active THEN 1 ELSE 0 END) AS days,
    SUM(d.active_seconds) AS secs
  FROM person_day AS d
  JOIN ambiguous AS a
    ON d.source = a.source
    AND d.platform = a.platform
    AND d.person = a.person
    AND d.month = a.month
  WHERE
    NOT d.province IS NULL
  GROUP BY
    d.source,
    d.platform,
    d.person,
    d.month,
    d.province
), pick AS (
  SELECT
    source,
    platform,
    person,
    month,
    province
  FROM (
    SELECT
      source,
      platform,
      person,
      month,
      province,
      ROW_NUMBER() OVER (
        PARTITION BY source, platform, person, month
        ORDER BY days DESC, secs DESC, province ASC NULLS LAST
      ) AS rn
    FROM prov
  ) AS ranked
  WHERE
    rn = 1
)
SELECT
  agg.source,
  agg.platform,
  agg.person,
  agg.month,
  CASE
    WHEN agg.active_days > 0
    THEN CASE WHEN agg.active_min = agg.active_max THEN agg.active_min ELSE pick.province END
    ELSE CASE WHEN agg.any_min = agg.any_max THEN agg.any_min ELSE pick.province END
  END AS province,
  agg.active_days,
  agg.active_seconds,
  agg.bytes,
  agg.sessions,
  agg.installs
FROM agg
LEFT JOIN pick
  ON agg.source = pick.source
  AND agg.platform = pick.platform
  AND agg.person = pick.person
  AND agg.month = pick.month;

-- Rollup kept in step at ingestion: usage_month, from person_month and weights
WITH pw AS (
  SELECT
    pm.source,
    pm.platform,
    pm.month,
    pm.province,
    pm.active_days,
    pm.active_seconds,
    pm.bytes,
    pm.sessions,
    pm.installs,
    COALESCE(w.weight, CAST(1.0 AS DOUBLE)) AS w
  FROM person_month AS pm
  LEFT JOIN weights AS w
    ON w.source = pm.source AND w.person = pm.person AND w.month = pm.month
)
SELECT
  source,
  platform,
  month,
  province,
  SUM(CASE WHEN active_days > 0 THEN 1 ELSE 0 END) AS persons,
  SUM(CASE WHEN active_days > 0 THEN w ELSE 0 END) AS w_persons,
  SUM(CASE WHEN active_days > 0 THEN w * w ELSE 0 END) AS w2_persons,
  SUM(w * active_days) AS w_active_days,
  SUM(w * active_seconds) AS w_seconds,
  SUM(w * bytes) AS w_bytes,
  SUM(w * sessions) AS w_sessions,
  SUM(w * installs) AS w_installs
FROM pw
GROUP BY
  source,
  platform,
  month,
  province;

-- Rollup kept in step at ingestion: usage_week (the period's whole weeks), from person_day and weights
WITH weeks AS (
  SELECT
    *
  FROM VALUES
    (CAST('2022-01-03' AS DATE), CAST('2022-01-03' AS DATE), '2022-01'),
    (CAST('2022-01-04' AS DATE), CAST('2022-01-03' AS DATE), '2022-01'),
    (CAST('2022-01-05' AS DATE), CAST('2022-01-03' AS DATE), '2022-01'),
    (CAST('2022-01-06' AS DATE), CAST('2022-01-03' AS DATE), '2022-01'),
    (CAST('2022-01-07' AS DATE), CAST('2022-01-03' AS DATE), '2022-01'),
    (CAST('2022-01-08' AS DATE), CAST('2022-01-03' AS DATE), '2022-01'),
    (CAST('2022-01-09' AS DATE), CAST('2022-01-03' AS DATE), '2022-01'),
    (CAST('2022-01-10' AS DATE), CAST('2022-01-10' AS DATE), '2022-01'),
    (CAST('2022-01-11' AS DATE), CAST('2022-01-10' AS DATE), '2022-01'),
    (CAST('2022-01-12' AS DATE), CAST('2022-01-10' AS DATE), '2022-01'),
    (CAST('2022-01-13' AS DATE), CAST('2022-01-10' AS DATE), '2022-01'),
    (CAST('2022-01-14' AS DATE), CAST('2022-01-10' AS DATE), '2022-01'),
    (CAST('2022-01-15' AS DATE), CAST('2022-01-10' AS DATE), '2022-01'),
    (CAST('2022-01-16' AS DATE), CAST('2022-01-10' AS DATE), '2022-01'),
    (CAST('2022-01-17' AS DATE), CAST('2022-01-17' AS DATE), '2022-01'),
    (CAST('2022-01-18' AS DATE), CAST('2022-01-17' AS DATE), '2022-01'),
    (CAST('2022-01-19' AS DATE), CAST('2022-01-17' AS DATE), '2022-01'),
    (CAST('2022-01-20' AS DATE), CAST('2022-01-17' AS DATE), '2022-01'),
    (CAST('2022-01-21' AS DATE), CAST('2022-01-17' AS DATE), '2022-01'),
    (CAST('2022-01-22' AS DATE), CAST('2022-01-17' AS DATE), '2022-01'),
    (CAST('2022-01-23' AS DATE), CAST('2022-01-17' AS DATE), '2022-01'),
    (CAST('2022-01-24' AS DATE), CAST('2022-01-24' AS DATE), '2022-01'),
    (CAST('2022-01-25' AS DATE), CAST('2022-01-24' AS DATE), '2022-01'),
    (CAST('2022-01-26' AS DATE), CAST('2022-01-24' AS DATE), '2022-01'),
    (CAST('2022-01-27' AS DATE), CAST('2022-01-24' AS DATE), '2022-01'),
    (CAST('2022-01-28' AS DATE), CAST('2022-01-24' AS DATE), '2022-01'),
    (CAST('2022-01-29' AS DATE), CAST('2022-01-24' AS DATE), '2022-01'),
    (CAST('2022-01-30' AS DATE), CAST('2022-01-24' AS DATE), '2022-01'),
    (CAST('2022-01-31' AS DATE), CAST('2022-01-31' AS DATE), '2022-02'),
    (CAST('2022-02-01' AS DATE), CAST('2022-01-31' AS DATE), '2022-02'),
    (CAST('2022-02-02' AS DATE), CAST('2022-01-31' AS DATE), '2022-02'),
    (CAST('2022-02-03' AS DATE), CAST('2022-01-31' AS DATE), '2022-02'),
    (CAST('2022-02-04' AS DATE), CAST('2022-01-31' AS DATE), '2022-02'),
    (CAST('2022-02-05' AS DATE), CAST('2022-01-31' AS DATE), '2022-02'),
    (CAST('2022-02-06' AS DATE), CAST('2022-01-31' AS DATE), '2022-02'),
    (CAST('2022-02-07' AS DATE), CAST('2022-02-07' AS DATE), '2022-02'),
    (CAST('2022-02-08' AS DATE), CAST('2022-02-07' AS DATE), '2022-02'),
    (CAST('2022-02-09' AS DATE), CAST('2022-02-07' AS DATE), '2022-02'),
    (CAST('2022-02-10' AS DATE), CAST('2022-02-07' AS DATE), '2022-02'),
    (CAST('2022-02-11' AS DATE), CAST('2022-02-07' AS DATE), '2022-02'),
    (CAST('2022-02-12' AS DATE), CAST('2022-02-07' AS DATE), '2022-02'),
    (CAST('2022-02-13' AS DATE), CAST('2022-02-07' AS DATE), '2022-02'),
    (CAST('2022-02-14' AS DATE), CAST('2022-02-14' AS DATE), '2022-02'),
    (CAST('2022-02-15' AS DATE), CAST('2022-02-14' AS DATE), '2022-02'),
    (CAST('2022-02-16' AS DATE), CAST('2022-02-14' AS DATE), '2022-02'),
    (CAST('2022-02-17' AS DATE), CAST('2022-02-14' AS DATE), '2022-02'),
    (CAST('2022-02-18' AS DATE), CAST('2022-02-14' AS DATE), '2022-02'),
    (CAST('2022-02-19' AS DATE), CAST('2022-02-14' AS DATE), '2022-02'),
    (CAST('2022-02-20' AS DATE), CAST('2022-02-14' AS DATE), '2022-02'),
    (CAST('2022-02-21' AS DATE), CAST('2022-02-21' AS DATE), '2022-02'),
    (CAST('2022-02-22' AS DATE), CAST('2022-02-21' AS DATE), '2022-02'),
    (CAST('2022-02-23' AS DATE), CAST('2022-02-21' AS DATE), '2022-02'),
    (CAST('2022-02-24' AS DATE), CAST('2022-02-21' AS DATE), '2022-02'),
    (CAST('2022-02-25' AS DATE), CAST('2022-02-21' AS DATE), '2022-02'),
    (CAST('2022-02-26' AS DATE), CAST('2022-02-21' AS DATE), '2022-02'),
    (CAST('2022-02-27' AS DATE), CAST('2022-02-21' AS DATE), '2022-02'),
    (CAST('2022-02-28' AS DATE), CAST('2022-02-28' AS DATE), '2022-03'),
    (CAST('2022-03-01' AS DATE), CAST('2022-02-28' AS DATE), '2022-03'),
    (CAST('2022-03-02' AS DATE), CAST('2022-02-28' AS DATE), '2022-03'),
    (CAST('2022-03-03' AS DATE), CAST('2022-02-28' AS DATE), '2022-03'),
    (CAST('2022-03-04' AS DATE), CAST('2022-02-28' AS DATE), '2022-03'),
    (CAST('2022-03-05' AS DATE), CAST('2022-02-28' AS DATE), '2022-03'),
    (CAST('2022-03-06' AS DATE), CAST('2022-02-28' AS DATE), '2022-03'),
    (CAST('2022-03-07' AS DATE), CAST('2022-03-07' AS DATE), '2022-03'),
    (CAST('2022-03-08' AS DATE), CAST('2022-03-07' AS DATE), '2022-03'),
    (CAST('2022-03-09' AS DATE), CAST('2022-03-07' AS DATE), '2022-03'),
    (CAST('2022-03-10' AS DATE), CAST('2022-03-07' AS DATE), '2022-03'),
    (CAST('2022-03-11' AS DATE), CAST('2022-03-07' AS DATE), '2022-03'),
    (CAST('2022-03-12' AS DATE), CAST('2022-03-07' AS DATE), '2022-03'),
    (CAST('2022-03-13' AS DATE), CAST('2022-03-07' AS DATE), '2022-03'),
    (CAST('2022-03-14' AS DATE), CAST('2022-03-14' AS DATE), '2022-03'),
    (CAST('2022-03-15' AS DATE), CAST('2022-03-14' AS DATE), '2022-03'),
    (CAST('2022-03-16' AS DATE), CAST('2022-03-14' AS DATE), '2022-03'),
    (CAST('2022-03-17' AS DATE), CAST('2022-03-14' AS DATE), '2022-03'),
    (CAST('2022-03-18' AS DATE), CAST('2022-03-14' AS DATE), '2022-03'),
    (CAST('2022-03-19' AS DATE), CAST('2022-03-14' AS DATE), '2022-03'),
    (CAST('2022-03-20' AS DATE), CAST('2022-03-14' AS DATE), '2022-03'),
    (CAST('2022-03-21' AS DATE), CAST('2022-03-21' AS DATE), '2022-03'),
    (CAST('2022-03-22' AS DATE), CAST('2022-03-21' AS DATE), '2022-03'),
    (CAST('2022-03-23' AS DATE), CAST('2022-03-21' AS DATE), '2022-03'),
    (CAST('2022-03-24' AS DATE), CAST('2022-03-21' AS DATE), '2022-03'),
    (CAST('2022-03-25' AS DATE), CAST('2022-03-21' AS DATE), '2022-03'),
    (CAST('2022-03-26' AS DATE), CAST('2022-03-21' AS DATE), '2022-03'),
    (CAST('2022-03-27' AS DATE), CAST('2022-03-21' AS DATE), '2022-03') AS t(day, week, month)
), days AS (
  SELECT
    d.source,
    d.platform,
    d.person,
    w.week,
    w.month,
    d.province,
    d.active_seconds
  FROM person_day AS d
  JOIN weeks AS w
    ON d.day = w.day
  WHERE
    d.active
), pw AS (
  SELECT
    source,
    platform,
    person,
    week,
    month,
    MIN(province) AS pmin,
    MAX(province) AS pmax
  FROM days
  GROUP BY
    source,
    platform,
    person,
    week,
    month
), ambiguous AS (
  SELECT
    source,
    platform,
    person,
    week
  FROM pw
  WHERE
    pmin <> pmax
), prov AS (
  SELECT
    d.source,
    d.platform,
    d.person,
    d.week,
    d.province,
    COUNT(*) AS n_days,
    SUM(d.active_seconds) AS secs
  FROM days AS d
  JOIN ambiguous AS a
    ON d.source = a.source
    AND d.platform = a.platform
    AND d.person = a.person
    AND d.week = a.week
  WHERE
    NOT d.province IS NULL
  GROUP BY
    d.source,
    d.platform,
    d.person,
    d.week,
    d.province
), pick AS (
  SELECT
    source,
    platform,
    person,
    week,
    province
  FROM (
    SELECT
      source,
      platform,
      person,
      week,
      province,
      ROW_NUMBER() OVER (
        PARTITION BY source, platform, person, week
        ORDER BY n_days DESC, secs DESC, province ASC NULLS LAST
      ) AS rn
    FROM prov
  ) AS ranked
  WHERE
    rn = 1
), person_week AS (
  SELECT
    pw.source,
    pw.platform,
    pw.person,
    pw.week,
    pw.month,
    CASE WHEN pw.pmin = pw.pmax THEN pw.pmin ELSE pick.province END AS province
  FROM pw
  LEFT JOIN pick
    ON pw.source = pick.source
    AND pw.platform = pick.platform
    AND pw.person = pick.person
    AND pw.week = pick.week
)
SELECT
  p.source,
  p.platform,
  p.week,
  p.province,
  COUNT(*) AS persons,
  SUM(COALESCE(w.weight, CAST(1.0 AS DOUBLE))) AS w_persons,
  SUM(
    COALESCE(w.weight, CAST(1.0 AS DOUBLE)) * COALESCE(w.weight, CAST(1.0 AS DOUBLE))
  ) AS w2_persons
FROM person_week AS p
LEFT JOIN weights AS w
  ON w.source = p.source AND w.person = p.person AND w.month = p.month
GROUP BY
  p.source,
  p.platform,
  p.week,
  p.province;

-- Metric query for 2022-Q1, by platform
WITH monthly AS (
  SELECT
    u.source,
    u.platform,
    pm.period,
    u.month,
    SUM(u.w_persons) AS mau_m,
    SUM(u.persons) AS n_m,
    SUM(u.w2_persons) AS w2_m,
    SUM(u.w_active_days) AS wdays,
    SUM(u.w_seconds) AS wsec,
    SUM(u.w_bytes) AS wbytes,
    SUM(u.w_sessions) AS wsess,
    SUM(u.w_installs) AS winst
  FROM usage_month AS u
  JOIN periods AS pm
    ON u.month = pm.month
  GROUP BY
    u.source,
    u.platform,
    pm.period,
    u.month
), per AS (
  SELECT
    m.source,
    m.platform,
    m.period,
    SUM(m.mau_m) / MAX(p.n_months) AS mau,
    SUM(m.wdays) / MAX(p.n_days) AS dau,
    SUM(m.wsec) / CAST(60.0 AS DOUBLE) / NULLIF(SUM(m.wdays), 0) AS minutes_per_day,
    AVG(CASE WHEN m.mau_m > 0 THEN m.wbytes / CAST(1000000.0 AS DOUBLE) / m.mau_m END) AS mb_per_user,
    SUM(m.wsess) AS sessions,
    SUM(m.winst) AS installs,
    SUM(m.n_m) * CAST(1.0 AS DOUBLE) / MAX(p.n_months) AS sample_persons,
    SUM(m.w2_m) / MAX(p.n_months) AS w2_persons
  FROM monthly AS m
  JOIN (
    SELECT
      period,
      MAX(n_months) AS n_months,
      MAX(n_days) AS n_days
    FROM periods
    GROUP BY
      period
  ) AS p
    ON m.period = p.period
  GROUP BY
    m.source,
    m.platform,
    m.period
), weekly AS (
  /* the weekly active persons of the weeks lying wholly inside the period, averaged over those weeks */
  SELECT
    wk.source,
    wk.platform,
    SUM(wk.w_persons) / 12 AS wau
  FROM usage_week AS wk
  WHERE
    wk.week >= CAST('2022-01-03' AS DATE) AND wk.week <= CAST('2022-03-21' AS DATE)
  GROUP BY
    wk.source,
    wk.platform
), enriched AS (
  SELECT
    e.*,
    pl.name,
    pl.category,
    pl.origin,
    e.dau / NULLIF(e.mau, 0) AS stickiness,
    RANK() OVER (PARTITION BY e.source, e.period, pl.category ORDER BY ROUND(e.mau, 6) DESC) AS rank_in_category
  FROM per AS e
  JOIN platforms AS pl
    ON e.platform = pl.platform
), recorded AS (
  SELECT
    cur.period,
    cur.source,
    cur.platform,
    cur.name,
    cur.category,
    cur.origin,
    cur.mau,
    cur.dau,
    cur.minutes_per_day,
    cur.mb_per_user,
    cur.sessions,
    cur.installs,
    cur.stickiness,
    cur.sample_persons,
    cur.w2_persons,
    cur.rank_in_category,
    prev.mau AS mau_previous,
    (
      cur.mau - prev.mau
    ) / NULLIF(prev.mau, 0) AS mau_change_previous,
    ago.mau AS mau_year_ago,
    (
      cur.mau - ago.mau
    ) / NULLIF(ago.mau, 0) AS mau_change_year,
    s.users AS smartphone_users,
    cur.mau / NULLIF(s.users, 0) AS penetration,
    CASE
      WHEN NOT wk.wau IS NULL
      THEN wk.wau
      WHEN (
        SELECT
          COUNT(*)
        FROM usage_week
      ) > 0
      THEN CAST(0.0 AS DOUBLE)
    END AS wau
  FROM enriched AS cur
  LEFT JOIN weekly AS wk
    ON wk.source = cur.source AND wk.platform = cur.platform
  LEFT JOIN enriched AS prev
    ON prev.source = cur.source
    AND prev.platform = cur.platform
    AND prev.period = '2021-Q4'
  LEFT JOIN enriched AS ago
    ON ago.source = cur.source AND ago.platform = cur.platform AND ago.period = '2021-Q1'
  LEFT JOIN smartphones AS s
    ON s.province = 'VN' AND s.year = 2022
  WHERE
    cur.period = '2022-Q1'
), published AS (
  SELECT
    platform,
    MIN(source) AS published_source,
    MAX(CASE WHEN metric = 'visits' THEN value END) AS pub_visits,
    MAX(CASE WHEN metric = 'web_rank' THEN value END) AS pub_web_rank,
    MAX(CASE WHEN metric = 'downloads_total' THEN value END) AS pub_downloads_total,
    MAX(CASE WHEN metric = 'mau' THEN value END) AS pub_mau,
    MAX(CASE WHEN metric = 'dau' THEN value END) AS pub_dau,
    MAX(CASE WHEN metric = 'minutes_per_day' THEN value END) AS pub_minutes_per_day,
    MAX(CASE WHEN metric = 'mb_per_user' THEN value END) AS pub_mb_per_user,
    MAX(CASE WHEN metric = 'sessions' THEN value END) AS pub_sessions,
    MAX(CASE WHEN metric = 'installs' THEN value END) AS pub_installs
  FROM aggregates
  WHERE
    period = '2022-Q1'
  GROUP BY
    platform
)
SELECT
  *
FROM (
  SELECT
    '2022-Q1' AS period,
    COALESCE(r.source, pb.published_source) AS source,
    pl.platform,
    pl.name,
    pl.category,
    pl.origin,
    COALESCE(r.mau, pb.pub_mau) AS mau,
    COALESCE(r.dau, pb.pub_dau) AS dau,
    COALESCE(r.minutes_per_day, pb.pub_minutes_per_day) AS minutes_per_day,
    COALESCE(r.mb_per_user, pb.pub_mb_per_user) AS mb_per_user,
    COALESCE(r.sessions, pb.pub_sessions) AS sessions,
    COALESCE(r.installs, pb.pub_installs) AS installs,
    COALESCE(r.stickiness, pb.pub_dau / NULLIF(pb.pub_mau, 0)) AS stickiness,
    r.sample_persons,
    r.w2_persons,
    r.rank_in_category,
    r.mau_previous,
    r.mau_change_previous,
    r.mau_year_ago,
    r.mau_change_year,
    r.smartphone_users,
    r.penetration,
    r.wau,
    pb.pub_visits AS visits,
    pb.pub_web_rank AS web_rank,
    pb.pub_downloads_total AS downloads_total,
    CASE WHEN r.platform IS NULL THEN 'published' ELSE 'records' END AS basis,
    pb.published_source
  FROM recorded AS r
  FULL OUTER JOIN published AS pb
    ON r.platform = pb.platform
  JOIN platforms AS pl
    ON pl.platform = COALESCE(r.platform, pb.platform)
) AS q
ORDER BY
  source NULLS LAST,
  category NULLS LAST,
  rank_in_category NULLS LAST,
  platform NULLS LAST;
