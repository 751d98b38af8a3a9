-- Trips and revenue per day and pickup zone: the busiest zones on the taxi dashboard.
CREATE OR REPLACE VIEW serving.taxi_pickup_zones_daily AS
SELECT
  business_date,
  coalesce(pu_borough, 'Unknown') AS pu_borough,
  coalesce(pu_zone, 'Unknown')    AS pu_zone,
  count(*)                        AS trips,
  sum(total_amount)               AS revenue
FROM gold.fct_taxi_trips
GROUP BY 1, 2, 3
