-- Trips per day in bands of distance (1 mile) and average speed (5 mph): the two
-- distributions on the taxi dashboard, pre-aggregated so that a chart never pulls
-- trip-level rows. The last band of each holds everything above it (20+ miles,
-- 60+ mph); trips with no duration have no speed band.
CREATE OR REPLACE VIEW serving.taxi_trip_profile AS
SELECT
  business_date,
  CAST(least(floor(trip_distance), 20) AS INTEGER)       AS distance_band_miles,
  CAST(least(floor(avg_speed_mph / 5) * 5, 60) AS INTEGER) AS speed_band_mph,
  count(*)                                                AS trips
FROM gold.fct_taxi_trips
GROUP BY 1, 2, 3
