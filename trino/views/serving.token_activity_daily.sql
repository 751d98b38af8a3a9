-- Token transfers per day over all tokens, with distinct senders and receivers: the
-- distinct counts are taken over the day's transfers (per-token distincts do not add up).
CREATE OR REPLACE VIEW serving.token_activity_daily AS
SELECT
  business_date,
  count(*)                     AS transfers,
  count(DISTINCT token_address) AS tokens,
  count(DISTINCT from_address) AS distinct_senders,
  count(DISTINCT to_address)   AS distinct_receivers
FROM gold.fct_token_transfers
GROUP BY business_date
