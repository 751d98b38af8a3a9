/* ---
table: gold.agg_token_transfers_daily
description: >-
  Per business date and token - transfers, distinct senders and receivers, and the
  exact raw volume. A uint256 sum does not fit DECIMAL(38): values are split into
  three 26-digit limbs, each summed exactly, and the carries propagated. Additive: the
  late transfers of a date already counted are aggregated alone and added to its rows.
keys: [business_date, token_address]
refresh: additive
incremental_source: silver.token_transfers   # the facts are a view of it: the same rows and runs
adds:
  symbol: max
  transfers: sum
  distinct_senders: sum     # counted among the added transfers only if new to the date
  distinct_receivers: sum
  volume_raw: uint256_sum
date_column: business_date
depends_on: [silver.token_transfers, gold.fct_token_transfers]
checks:
  expect:
    - {type: expect_compound_columns_to_be_unique, column_list: [business_date, token_address], severity: error}
    - {type: expect_column_values_to_be_between, column: transfers, min_value: 1.0, severity: error}
--- */
-- gold.fct_token_transfers: the transfers being counted (on a date computed whole, all of
-- them; it reads silver, narrowed to the runs taken in); counted: the same dates' transfers
-- already counted.
WITH limbs AS (
  SELECT
    business_date, token_address, symbol,
    CAST(substr(lpad(value_raw, 78, '0'), 1, 26)  AS DECIMAL(38, 0)) AS hi,
    CAST(substr(lpad(value_raw, 78, '0'), 27, 26) AS DECIMAL(38, 0)) AS mid,
    CAST(substr(lpad(value_raw, 78, '0'), 53, 26) AS DECIMAL(38, 0)) AS lo
  FROM {{ gold.fct_token_transfers }}
  WHERE business_date IN ({{ dates }})
),
sums AS (
  SELECT
    business_date, token_address, max(symbol) AS symbol,
    count(*)                      AS transfers,
    sum(hi) AS hi, sum(mid) AS mid, sum(lo) AS lo     -- each < 10^26 x rows: fits DECIMAL(38)
  FROM limbs GROUP BY business_date, token_address
),
carried AS (   -- integral division and remainder on decimals are exact
  SELECT *, mid + (lo div CAST('100000000000000000000000000' AS DECIMAL(38, 0))) AS mid_c, lo % CAST('100000000000000000000000000' AS DECIMAL(38, 0)) AS lo_r FROM sums
),
carried2 AS (
  SELECT *, hi + (mid_c div CAST('100000000000000000000000000' AS DECIMAL(38, 0))) AS hi_c, mid_c % CAST('100000000000000000000000000' AS DECIMAL(38, 0)) AS mid_r FROM carried
),
-- Distinct parties, as (date, token, party) pairs: those among the counted transfers that
-- the date had not counted yet. The pairs of a few late transfers are broadcast to find,
-- in scans of three columns, which the date already had; on a date computed whole
-- counted is empty and that join is planned away. A party is its address's 20 bytes
-- (the contract admits only 0x and 40 lowercase hex digits): hashed and compared as
-- bytes, not as 42 characters, the distinct pairs cost a fifth less.
parties AS (
  SELECT DISTINCT business_date, token_address, unhex(substr(from_address, 3)) AS party, true AS sends
  FROM {{ gold.fct_token_transfers }} WHERE business_date IN ({{ dates }}) AND from_address IS NOT NULL
  UNION ALL
  SELECT DISTINCT business_date, token_address, unhex(substr(to_address, 3)) AS party, false AS sends
  FROM {{ gold.fct_token_transfers }} WHERE business_date IN ({{ dates }}) AND to_address IS NOT NULL
),
counted_parties AS (
  SELECT business_date, token_address, p.party, p.sends
  FROM {{ counted }}
  LATERAL VIEW explode(array(named_struct('party', unhex(substr(from_address, 3)), 'sends', true),
                             named_struct('party', unhex(substr(to_address, 3)), 'sends', false))) AS p
),
seen AS (
  SELECT /*+ BROADCAST(p) */ DISTINCT p.*
  FROM counted_parties c JOIN parties p USING (business_date, token_address, party, sends)
),
new_parties AS (   -- an outer join, not an anti-join: Spark would push that into each side of the union
  SELECT business_date, token_address,
    count_if(sends AND s.party IS NULL)     AS distinct_senders,
    count_if(NOT sends AND s.party IS NULL) AS distinct_receivers
  FROM parties LEFT JOIN seen s USING (business_date, token_address, party, sends)
  GROUP BY business_date, token_address
)
SELECT
  business_date,
  token_address,
  symbol,
  transfers,
  coalesce(distinct_senders, 0)   AS distinct_senders,
  coalesce(distinct_receivers, 0) AS distinct_receivers,
  regexp_replace(concat(CAST(hi_c AS STRING), lpad(CAST(mid_r AS STRING), 26, '0'),
                        lpad(CAST(lo_r AS STRING), 26, '0')), '^0+(?=.)', '') AS volume_raw
FROM carried2 LEFT JOIN new_parties USING (business_date, token_address)
