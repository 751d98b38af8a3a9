/* ---
table: gold.fct_token_transfers
description: >-
  One row per token transfer, with the token's symbol and decimals as known when the
  transfer was modelled. amount is the raw value shifted by the token's decimals, as
  exact decimal text: a uint256 does not fit any SQL decimal type, and rounding it
  would lose value. Appended as silver gains transfers (run_id: the run that curated it).
keys: [transaction_hash, log_index]
refresh: incremental
incremental_source: silver.token_transfers
date_column: business_date
partition_by: [business_date]
depends_on: [silver.token_transfers, gold.dim_token]
checks:
  engine: spark  # a row per transfer: about 1.2M a day
  expect:
    - {type: expect_column_values_to_not_be_null, column: value_raw, severity: error}
    - {type: expect_column_values_to_not_be_null, column: symbol, mostly: 0.9, severity: warn}
--- */
WITH joined AS (
  SELECT t.*, d.symbol, d.decimals
  FROM {{ silver.token_transfers }} t
  LEFT JOIN {{ gold.dim_token }} d ON d.token_address = t.token_address
  WHERE t.business_date IN ({{ dates }})
),
shifted AS (
  -- left-pad so that there is at least one digit before the decimal point
  SELECT *, lpad(value, greatest(length(value), coalesce(decimals, 0) + 1), '0') AS padded FROM joined
)
SELECT
  block_timestamp,
  block_number,
  block_hash,
  transaction_hash,
  log_index,
  token_address,
  symbol,
  decimals,
  from_address,
  to_address,
  value AS value_raw,
  CASE
    WHEN decimals IS NULL THEN NULL
    WHEN decimals = 0 THEN value
    ELSE regexp_replace(
           concat(substr(padded, 1, length(padded) - decimals), '.', substr(padded, length(padded) - decimals + 1)),
           '\\.?0+$', '')
  END AS amount,
  business_date,
  run_id
FROM shifted
