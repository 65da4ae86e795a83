-- Biobank access requests (BBMRI Negotiator style). A request names the
-- biobanks it asks; each biobank's part moves through its states by
-- events. Requests and events are never changed or deleted: a part's state
-- is its last state event.
CREATE TABLE biobank_access_requests (
    id INTEGER PRIMARY KEY,
    requester_id INTEGER NOT NULL REFERENCES users (id),
    title TEXT NOT NULL,
    project TEXT NOT NULL,
    purpose TEXT NOT NULL,
    ethics TEXT NOT NULL,
    query TEXT NOT NULL,
    wanted TEXT NOT NULL,
    biobanks TEXT NOT NULL,
    submitted_at INTEGER NOT NULL
);
CREATE INDEX biobank_access_requests_requester ON biobank_access_requests (requester_id, id);

CREATE TABLE biobank_access_events (
    id INTEGER PRIMARY KEY,
    request_id INTEGER NOT NULL REFERENCES biobank_access_requests (id),
    biobank TEXT NOT NULL,
    actor_id INTEGER NOT NULL REFERENCES users (id),
    state TEXT,
    message TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX biobank_access_events_request ON biobank_access_events (request_id, id);
CREATE INDEX biobank_access_events_biobank ON biobank_access_events (biobank, request_id);

-- Who curates which biobank (assigned by an admin).
CREATE TABLE biobank_curators (
    user_id INTEGER NOT NULL REFERENCES users (id),
    biobank TEXT NOT NULL,
    PRIMARY KEY (user_id, biobank)
);

CREATE TRIGGER biobank_access_requests_kept BEFORE UPDATE ON biobank_access_requests
BEGIN SELECT RAISE(ABORT, 'access requests are append-only'); END;
CREATE TRIGGER biobank_access_requests_kept_d BEFORE DELETE ON biobank_access_requests
BEGIN SELECT RAISE(ABORT, 'access requests are append-only'); END;
CREATE TRIGGER biobank_access_events_kept BEFORE UPDATE ON biobank_access_events
BEGIN SELECT RAISE(ABORT, 'access requests are append-only'); END;
CREATE TRIGGER biobank_access_events_kept_d BEFORE DELETE ON biobank_access_events
BEGIN SELECT RAISE(ABORT, 'access requests are append-only'); END;
