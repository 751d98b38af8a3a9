/* ---
table: gold.agg_token_transfers_daily
description: >-
  Per business date and token - transfers, distinct senders and receivers, and the
  exact raw volume. A uint256 sum does not fit DECIMAL(38): values are split into
  three 26-digit limbs, each summed exactly, and the carries propagated.
keys: [business_date, token_address]
refresh: by_date
date_column: business_date
depends_on: [gold.fct_token_transfers]
checks:
  expect:
    - {type: expect_compound_columns_to_be_unique, column_list: [business_date, token_address], severity: error}
    - {type: expect_column_values_to_be_between, column: transfers, min_value: 1.0, severity: error}
--- */
WITH limbs AS (
  SELECT
    business_date, token_address, symbol,
    CAST(substr(lpad(value_raw, 78, '0'), 1, 26)  AS DECIMAL(38, 0)) AS hi,
    CAST(substr(lpad(value_raw, 78, '0'), 27, 26) AS DECIMAL(38, 0)) AS mid,
    CAST(substr(lpad(value_raw, 78, '0'), 53, 26) AS DECIMAL(38, 0)) AS lo
  FROM {{ gold.fct_token_transfers }}
  WHERE business_date IN ({{ dates }})
),
-- The distinct counts are an aggregate of their own: beside the sums, Spark would expand
-- every row three times (once per distinct column and once for the sums), twice as slow.
distinct_parties AS (
  SELECT
    business_date, token_address,
    count(DISTINCT from_address)  AS distinct_senders,
    count(DISTINCT to_address)    AS distinct_receivers
  FROM {{ gold.fct_token_transfers }}
  WHERE business_date IN ({{ dates }})
  GROUP BY business_date, token_address
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
)
SELECT
  business_date,
  token_address,
  symbol,
  transfers,
  distinct_senders,
  distinct_receivers,
  regexp_replace(concat(CAST(hi_c AS STRING), lpad(CAST(mid_r AS STRING), 26, '0'),
                        lpad(CAST(lo_r AS STRING), 26, '0')), '^0+(?=.)', '') AS volume_raw
FROM carried2 JOIN distinct_parties USING (business_date, token_address)
