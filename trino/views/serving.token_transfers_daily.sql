-- Token transfers per day and token, with the token's symbol and its volume in token
-- units where the decimals are known: volume_units exactly (decimal text: the raw
-- uint256 sum shifted by the decimals, as gold.fct_token_transfers shifts amounts) and
-- volume_approx as a double, to rank and chart by. volume_raw is the exact raw sum.
-- `token` labels a token on a chart: its symbol and the start of its address (symbols repeat).
CREATE OR REPLACE VIEW serving.token_transfers_daily AS
WITH joined AS (
  SELECT a.*, d.decimals,
    -- at least one digit before the decimal point
    lpad(a.volume_raw, greatest(length(a.volume_raw), coalesce(d.decimals, 0) + 1), '0') AS padded
  FROM gold.agg_token_transfers_daily a
  LEFT JOIN gold.dim_token d ON d.token_address = a.token_address
)
SELECT
  business_date,
  token_address,
  coalesce(symbol, '(unknown)') AS symbol,
  concat(coalesce(symbol, '(unknown)'), ' ', substr(token_address, 1, 8)) AS token,
  transfers,
  distinct_senders,
  distinct_receivers,
  volume_raw,
  CASE
    WHEN decimals IS NULL THEN NULL
    WHEN decimals = 0 THEN volume_raw
    ELSE regexp_replace(concat(substr(padded, 1, length(padded) - decimals), '.',
                               substr(padded, length(padded) - decimals + 1)), '\.?0+$', '')
  END AS volume_units,
  CAST(volume_raw AS DOUBLE) / power(10, decimals) AS volume_approx
FROM joined
