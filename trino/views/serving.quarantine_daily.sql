-- Quarantined lines per landing date, primary reason and event type: counts only, never
-- the raw lines (quarantine.events itself stays closed to analysts). reason_kind is the
-- reason code's first part (missing_field, wrong_type, rule, ...): a handful of series.
CREATE OR REPLACE VIEW serving.quarantine_daily AS
SELECT
  event_date AS business_date,
  split_part(primary_reason, ':', 1) AS reason_kind,
  primary_reason AS reason,
  coalesce(event_type, '(unparseable)') AS event_type,
  count(*) AS lines,
  count(replayed_by_run_id) AS replayed
FROM quarantine.events
GROUP BY 1, 2, 3, 4
