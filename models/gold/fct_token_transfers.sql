/* ---
table: gold.fct_token_transfers
description: >-
  One row per token transfer, with the token's symbol and decimals. amount is the raw
  value shifted by the token's decimals, as exact decimal text: a uint256 does not fit
  any SQL decimal type, and rounding it would lose value. A view over silver and the
  token dimension, never written: a transfer's symbol and decimals are the token's
  current ones, and the aggregate reads it over only the transfers it takes in.
keys: [transaction_hash, log_index]
refresh: view
depends_on: [silver.token_transfers, gold.dim_token]
--- */
WITH joined AS (
  SELECT t.*, d.symbol, d.decimals
  FROM {{ silver.token_transfers }} t
  LEFT JOIN {{ gold.dim_token }} d ON d.token_address = t.token_address
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
           '[.]?0+$', '')  -- not '\\.': a backslash in a literal means one thing in Spark, another in Trino
  END AS amount,
  business_date,
  run_id
FROM shifted
