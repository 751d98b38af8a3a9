/* ---
table: gold.agg_taxi_daily
description: >-
  Per business date and pickup borough - trips, revenue, tips, distance and card
  payments as exact sums; the mean distance and the card share are derived ratios.
keys: [business_date, pu_borough]
refresh: by_date
date_column: business_date
depends_on: [gold.fct_taxi_trips]
checks:
  expect:
    - {type: expect_compound_columns_to_be_unique, column_list: [business_date, pu_borough], severity: error}
    - {type: expect_column_values_to_be_between, column: revenue, min_value: 0.0, severity: error}
    - {type: expect_column_values_to_be_between, column: card_share, min_value: 0.0, max_value: 1.0, severity: error}
--- */
SELECT
  business_date,
  coalesce(pu_borough, 'Unknown')                                      AS pu_borough,
  count(*)                                                             AS trips,
  sum(total_amount)                                                    AS revenue,
  sum(tip_amount)                                                      AS tips,
  sum(CAST(trip_distance AS DECIMAL(20, 2)))                           AS distance_miles,
  sum(CASE WHEN is_card_payment THEN 1 ELSE 0 END)                     AS card_trips,
  CAST(sum(CAST(trip_distance AS DECIMAL(20, 2))) AS DOUBLE) / count(*) AS mean_distance_miles,
  sum(CASE WHEN is_card_payment THEN 1 ELSE 0 END) / count(*)          AS card_share
FROM {{ gold.fct_taxi_trips }}
WHERE business_date IN ({{ dates }})
GROUP BY 1, 2
