/* ---
table: gold.fct_taxi_trips
description: >-
  One row per yellow taxi trip, with duration, speed and the zones' names. Appended as
  silver gains trips (run_id: the run that curated it).
keys: [vendor_id, pickup_at, dropoff_at, pu_location_id, do_location_id, total_amount]
refresh: incremental
incremental_source: silver.taxi_trips
date_column: business_date
depends_on: [silver.taxi_trips, gold.dim_taxi_zone]
checks:
  expect:
    - {type: expect_column_values_to_not_be_null, column: pu_borough, severity: error}
    - {type: expect_column_values_to_not_be_null, column: do_borough, severity: error}
    - {type: expect_column_values_to_be_between, column: duration_minutes, min_value: 0.0, max_value: 300.0, mostly: 0.99, severity: warn}
--- */
SELECT
  t.business_date,
  t.vendor_id,
  t.pickup_at,
  t.dropoff_at,
  (unix_timestamp(t.dropoff_at) - unix_timestamp(t.pickup_at)) / 60.0          AS duration_minutes,
  CASE WHEN unix_timestamp(t.dropoff_at) > unix_timestamp(t.pickup_at)
       THEN t.trip_distance / ((unix_timestamp(t.dropoff_at) - unix_timestamp(t.pickup_at)) / 3600.0)
  END                                                                          AS avg_speed_mph,
  t.passenger_count,
  t.trip_distance,
  t.rate_code_id,
  t.payment_type,
  t.payment_type = 1                                                           AS is_card_payment,
  t.pu_location_id,
  pu.zone    AS pu_zone,
  pu.borough AS pu_borough,
  t.do_location_id,
  do.zone    AS do_zone,
  do.borough AS do_borough,
  t.fare_amount,
  t.extra,
  t.mta_tax,
  t.tip_amount,
  t.tolls_amount,
  t.improvement_surcharge,
  t.congestion_surcharge,
  t.airport_fee,
  t.total_amount,
  t.run_id
FROM {{ silver.taxi_trips }} t
LEFT JOIN {{ gold.dim_taxi_zone }} pu ON pu.location_id = t.pu_location_id
LEFT JOIN {{ gold.dim_taxi_zone }} do ON do.location_id = t.do_location_id
WHERE t.business_date IN ({{ dates }})
