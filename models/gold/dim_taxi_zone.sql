/* ---
table: gold.dim_taxi_zone
description: The 265 NYC TLC taxi zones (seed models/seeds/taxi_zone_lookup.csv).
keys: [location_id]
refresh: once
depends_on: [seed.taxi_zone_lookup]
checks:
  expect:
    - {type: expect_column_values_to_be_unique, column: location_id, severity: error}
    - {type: expect_table_row_count_to_be_between, min_value: 265, max_value: 265, severity: error}
--- */
SELECT
  CAST(LocationID AS INT) AS location_id,
  Borough                 AS borough,
  Zone                    AS zone,
  service_zone            AS service_zone
FROM {{ seed.taxi_zone_lookup }}
