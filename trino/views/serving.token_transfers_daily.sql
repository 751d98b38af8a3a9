-- Token transfers per day and token, with the token's symbol and the volume in
-- token units where the decimals are known (the raw volume stays exact text).
CREATE OR REPLACE VIEW delta.serving.token_transfers_daily AS
SELECT
  a.business_date,
  a.token_address,
  coalesce(a.symbol, '(unknown)') AS symbol,
  a.transfers,
  a.distinct_senders,
  a.distinct_receivers,
  a.volume_raw,
  CAST(a.volume_raw AS DOUBLE) / power(10, d.decimals) AS volume_approx
FROM delta.gold.agg_token_transfers_daily a
LEFT JOIN delta.gold.dim_token d ON d.token_address = a.token_address
