/* ---
table: gold.dim_date
description: One row per calendar day, 2015-01-01 to 2040-12-31.
keys: [date_key]
refresh: once
depends_on: []
checks:
  expect:
    - {type: expect_column_values_to_be_unique, column: date_key, severity: error}
    - {type: expect_column_values_to_not_be_null, column: date_key, severity: error}
--- */
SELECT
  d                                   AS date_key,
  year(d)                             AS year,
  quarter(d)                          AS quarter,
  month(d)                            AS month,
  date_format(d, 'MMMM')              AS month_name,
  day(d)                              AS day_of_month,
  dayofweek(d)                        AS day_of_week,      -- 1 = Sunday
  date_format(d, 'EEEE')              AS day_name,
  dayofweek(d) IN (1, 7)              AS is_weekend,
  weekofyear(d)                       AS iso_week
FROM (SELECT explode(sequence(DATE'2015-01-01', DATE'2040-12-31', INTERVAL 1 DAY)) AS d)
