-- Each expectation checked by a run's quality gates: which suite, table and column, its
-- severity and outcome, and how many rows failed it. Not the observed values nor the
-- expectation's arguments (they can quote data). business_date: the run's window start.
CREATE OR REPLACE VIEW serving.quality_results AS
SELECT
  window_start AS business_date,
  run_id,
  CAST(checked_at AT TIME ZONE 'UTC' AS timestamp(0)) AS checked_at_utc,
  layer,
  suite,
  table_name,
  expectation_type,
  column_name,
  severity,
  success,
  CASE WHEN success THEN 0 ELSE 1 END AS failed,
  element_count,
  unexpected_count,
  unexpected_percent
FROM ops.quality_results
