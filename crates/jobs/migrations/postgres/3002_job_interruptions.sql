-- How many runs of a job ended because the process died (not a clean stop)
-- since it was queued or retried; past a limit the job is failed rather than
-- started again, so a job that kills the server cannot do so at every start.
ALTER TABLE jobs ADD COLUMN interruptions INTEGER NOT NULL DEFAULT 0;
