-- Screening runs kept whole: the files they were computed from (protocol,
-- plate map, reader files, plate list) with their digest, the engine
-- version, and what it computed. With the files, anyone can recompute a run
-- and check it; nothing here is ever changed or deleted.
CREATE TABLE screen_runs (
    id INTEGER PRIMARY KEY,
    project TEXT NOT NULL,
    title TEXT NOT NULL,
    requester_id INTEGER REFERENCES users (id),
    protocol_name TEXT NOT NULL,
    files TEXT NOT NULL,
    files_sha256 TEXT NOT NULL,
    engine TEXT NOT NULL,
    plates TEXT NOT NULL,
    summary TEXT NOT NULL,
    recorded_by INTEGER NOT NULL REFERENCES users (id),
    recorded_at INTEGER NOT NULL
);
CREATE INDEX screen_runs_requester ON screen_runs (requester_id, id);

CREATE TABLE screen_hits (
    run_id INTEGER NOT NULL REFERENCES screen_runs (id),
    plate TEXT NOT NULL,
    well TEXT NOT NULL,
    compound TEXT,
    concentration REAL,
    score REAL NOT NULL,
    PRIMARY KEY (run_id, plate, well)
);
CREATE INDEX screen_hits_compound ON screen_hits (compound);

-- A concentration-response measured to confirm a hit, its fit and the
-- decision the protocol's confirmation rule gave.
CREATE TABLE dose_curves (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES screen_runs (id),
    compound TEXT NOT NULL,
    points TEXT NOT NULL,
    fit TEXT NOT NULL,
    class TEXT NOT NULL,
    ic50 REAL,
    decision TEXT NOT NULL,
    recorded_by INTEGER NOT NULL REFERENCES users (id),
    recorded_at INTEGER NOT NULL
);
CREATE INDEX dose_curves_compound ON dose_curves (compound, id);

-- "New drug-discovery seed found": one per compound and project, the
-- event the programme's KPI counts, linked to the evidence.
CREATE TABLE seed_events (
    id INTEGER PRIMARY KEY,
    compound_id INTEGER NOT NULL,
    project TEXT NOT NULL,
    run_id INTEGER NOT NULL REFERENCES screen_runs (id),
    curve_id INTEGER NOT NULL REFERENCES dose_curves (id),
    recorded_by INTEGER NOT NULL REFERENCES users (id),
    recorded_at INTEGER NOT NULL,
    UNIQUE (compound_id, project)
);

CREATE TRIGGER screen_runs_kept BEFORE UPDATE ON screen_runs
BEGIN SELECT RAISE(ABORT, 'screening records are append-only'); END;
CREATE TRIGGER screen_runs_kept_d BEFORE DELETE ON screen_runs
BEGIN SELECT RAISE(ABORT, 'screening records are append-only'); END;
CREATE TRIGGER screen_hits_kept BEFORE UPDATE ON screen_hits
BEGIN SELECT RAISE(ABORT, 'screening records are append-only'); END;
CREATE TRIGGER screen_hits_kept_d BEFORE DELETE ON screen_hits
BEGIN SELECT RAISE(ABORT, 'screening records are append-only'); END;
CREATE TRIGGER dose_curves_kept BEFORE UPDATE ON dose_curves
BEGIN SELECT RAISE(ABORT, 'screening records are append-only'); END;
CREATE TRIGGER dose_curves_kept_d BEFORE DELETE ON dose_curves
BEGIN SELECT RAISE(ABORT, 'screening records are append-only'); END;
CREATE TRIGGER seed_events_kept BEFORE UPDATE ON seed_events
BEGIN SELECT RAISE(ABORT, 'screening records are append-only'); END;
CREATE TRIGGER seed_events_kept_d BEFORE DELETE ON seed_events
BEGIN SELECT RAISE(ABORT, 'screening records are append-only'); END;
