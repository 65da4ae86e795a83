-- The job queue. A job is claimed by flipping its status from 'queued' to
-- 'running' in one statement, so two runners never take the same job.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    params TEXT NOT NULL,
    owner_id INTEGER NOT NULL REFERENCES users (id),
    status TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    result TEXT,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER
);
CREATE INDEX jobs_status ON jobs (status, id);
CREATE INDEX jobs_owner ON jobs (owner_id, id);

CREATE TABLE job_logs (
    id INTEGER PRIMARY KEY,
    job_id INTEGER NOT NULL REFERENCES jobs (id),
    at INTEGER NOT NULL,
    line TEXT NOT NULL
);
CREATE INDEX job_logs_job ON job_logs (job_id, id);
