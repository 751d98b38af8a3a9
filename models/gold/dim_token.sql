/* ---
table: gold.dim_token
description: Every known token contract in its latest state (silver.tokens keeps only that).
keys: [token_address]
refresh: full
depends_on: [silver.tokens]
checks:
  expect:
    - {type: expect_column_values_to_be_unique, column: token_address, severity: error}
--- */
SELECT
  address       AS token_address,
  symbol,
  name,
  decimals,
  total_supply  AS total_supply_raw,   -- uint256 as exact decimal text
  block_number  AS as_of_block_number,
  block_timestamp AS as_of_block_timestamp
FROM {{ silver.tokens }}
