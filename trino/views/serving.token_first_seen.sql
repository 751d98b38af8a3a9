-- Each token on the first business date it was transferred, with that day's figures.
CREATE OR REPLACE VIEW serving.token_first_seen AS
SELECT
  a.business_date AS first_seen_date,
  a.token_address,
  coalesce(d.symbol, a.symbol, '(unknown)') AS symbol,
  d.name,
  d.decimals,
  a.transfers AS first_day_transfers,
  a.distinct_senders AS first_day_senders
FROM gold.agg_token_transfers_daily a
LEFT JOIN gold.dim_token d ON d.token_address = a.token_address
WHERE a.business_date = (
  SELECT min(b.business_date) FROM gold.agg_token_transfers_daily b WHERE b.token_address = a.token_address
)
