-- Taxi operations per day and pickup borough, for the Superset dashboard.
CREATE OR REPLACE VIEW serving.taxi_daily AS
SELECT
  business_date,
  pu_borough,
  trips,
  revenue,
  tips,
  distance_miles,
  mean_distance_miles,
  card_trips,
  card_share,
  CAST(revenue AS DOUBLE) / trips AS revenue_per_trip
FROM gold.agg_taxi_daily
