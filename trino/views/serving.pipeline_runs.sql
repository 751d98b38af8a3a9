-- One row per curation run in its latest state (the ledger appends a `running` row when
-- a run starts, a final row when it ends, and a `rolled_back` marker if it is undone),
-- with its accounting spelled out:
--   lines read = inserted + duplicates in window + duplicates against history + quarantined
-- `unaccounted` is what that leaves over for a run that finished (succeeded, or
-- held_back: a quality gate held back some tables, every line was still accounted
-- for): 0, anything else is a broken invariant. A run that failed or stopped half-way
-- has none (its counts are those of the stages it reached). `tables_held_back`: how
-- many tables a gate held back (they and what reads them were not rebuilt).
-- Metadata and counts only: no error
-- text (it can quote a raw line), just its exception class. business_date is the first
-- day of the run's window; replays and rollbacks have none.
CREATE OR REPLACE VIEW serving.pipeline_runs AS
WITH latest AS (   -- the run's own last row; a rollback marker only changes its status
  SELECT *,
    row_number() OVER (PARTITION BY run_id ORDER BY status = 'rolled_back', finished_at DESC NULLS LAST) AS state_rank,
    bool_or(status = 'rolled_back') OVER (PARTITION BY run_id) AS rolled_back
  FROM ops.pipeline_runs
),
counted AS (
  SELECT
    run_id, kind, status, window_start, window_end, started_at, finished_at, seconds, files,
    records_per_second, peak_rss_bytes, error, unchanged_since, rolled_back,
    coalesce(cardinality(held_back), 0) AS tables_held_back,
    coalesce(element_at(counts, 'lines_read'), 0)              AS lines_read,
    coalesce(element_at(counts, 'valid'), 0)                   AS valid,
    coalesce(element_at(counts, 'inserted'), 0)                AS inserted,
    coalesce(element_at(counts, 'duplicates_in_window'), 0)    AS duplicates_in_window,
    coalesce(element_at(counts, 'duplicates_history'), 0)      AS duplicates_history,
    coalesce(element_at(counts, 'quarantined_unparseable'), 0) AS quarantined_unparseable,
    coalesce(element_at(counts, 'quarantined_contract'), 0)    AS quarantined_contract,
    coalesce(element_at(counts, 'quality_failed_error'), 0)    AS quality_failed_error,
    coalesce(element_at(counts, 'quality_failed_warn'), 0)     AS quality_failed_warn
  FROM latest
  WHERE state_rank = 1
)
SELECT
  window_start AS business_date,
  window_end,
  run_id,
  kind,
  CASE WHEN rolled_back THEN 'rolled_back' WHEN unchanged_since IS NOT NULL THEN 'unchanged' ELSE status END AS status,
  CAST(started_at AT TIME ZONE 'UTC' AS timestamp(0))  AS started_at_utc,
  CAST(finished_at AT TIME ZONE 'UTC' AS timestamp(0)) AS finished_at_utc,
  seconds,
  files,
  -- a run that found its input unchanged read nothing: no throughput to speak of
  CASE WHEN unchanged_since IS NULL THEN records_per_second END AS records_per_second,
  CAST(peak_rss_bytes AS DOUBLE) / 1048576 AS peak_rss_mib,
  regexp_extract(error, '^[A-Za-z_][A-Za-z0-9_.]*') AS error_class,
  lines_read,
  valid,
  inserted,
  duplicates_in_window,
  duplicates_history,
  quarantined_unparseable + quarantined_contract AS quarantined,
  CASE WHEN status IN ('succeeded', 'held_back') THEN lines_read - inserted - duplicates_in_window - duplicates_history
    - quarantined_unparseable - quarantined_contract END AS unaccounted,
  quality_failed_error,
  quality_failed_warn,
  tables_held_back
FROM counted
