-- Seconds per stage of each finished curation run (one row per run and stage; the
-- ledger's final row of the run holds them).
CREATE OR REPLACE VIEW serving.pipeline_stage_seconds AS
SELECT
  r.window_start AS business_date,
  r.run_id,
  r.status,
  s.stage,
  s.seconds
FROM ops.pipeline_runs r
CROSS JOIN UNNEST(r.stage_seconds) AS s (stage, seconds)
WHERE r.status IN ('succeeded', 'held_back', 'failed') AND r.kind = 'run'
