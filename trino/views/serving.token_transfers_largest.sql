-- One row per transfer with its amount in token units as a double, for ranking the
-- largest transfers; the exact amount (text) and raw uint256 value stay beside it.
-- Transfers of tokens with unknown decimals have no amount and do not rank.
CREATE OR REPLACE VIEW serving.token_transfers_largest AS
SELECT
  business_date,
  CAST(block_timestamp AT TIME ZONE 'UTC' AS timestamp(0)) AS block_time_utc,
  coalesce(symbol, '(unknown)') AS symbol,
  token_address,
  from_address,
  to_address,
  transaction_hash,
  log_index,
  amount,
  CAST(amount AS DOUBLE) AS amount_approx,
  value_raw
FROM gold.fct_token_transfers
WHERE amount IS NOT NULL
