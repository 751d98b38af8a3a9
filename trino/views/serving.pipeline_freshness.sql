-- How far the newest event of each landing date falls short of the end of its daily
-- window (the next midnight, UTC): a source that stopped sending early shows as minutes.
-- Valid events only (an invalid one may carry any timestamp, even in the year 9999). An
-- aggregate over bronze's collector timestamps; bronze itself stays closed to analysts.
CREATE OR REPLACE VIEW serving.pipeline_freshness AS
SELECT
  event_date AS business_date,
  valid_events,
  CAST(newest_event_at AT TIME ZONE 'UTC' AS timestamp(0)) AS newest_event_utc,
  CAST(date_add('day', 1, event_date) AS timestamp(0))     AS window_end_utc,
  CAST(date_diff('second', newest_event_at,
                 with_timezone(CAST(date_add('day', 1, event_date) AS timestamp(3)), 'UTC')) AS DOUBLE)
    / 60 AS minutes_behind_window_end
FROM (
  SELECT event_date, count(*) AS valid_events, max(collector_tstamp) AS newest_event_at
  FROM bronze.events
  WHERE is_valid
  GROUP BY event_date
)
