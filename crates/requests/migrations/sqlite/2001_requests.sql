-- Provision requests: what a researcher asked for, how it was decided and
-- what was shipped. Kept portable: the two backends differ in key types only.
CREATE TABLE provision_requests (
    id INTEGER PRIMARY KEY,
    requester_id INTEGER NOT NULL REFERENCES users (id),
    purpose TEXT NOT NULL,
    amount TEXT NOT NULL,
    plate_format TEXT NOT NULL,
    status TEXT NOT NULL,
    reviewer_id INTEGER REFERENCES users (id),
    review_note TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX provision_requests_requester ON provision_requests (requester_id, id);
CREATE INDEX provision_requests_status ON provision_requests (status, id);

CREATE TABLE provision_request_items (
    request_id INTEGER NOT NULL REFERENCES provision_requests (id),
    position INTEGER NOT NULL,
    compound_id INTEGER NOT NULL,
    PRIMARY KEY (request_id, position),
    UNIQUE (request_id, compound_id)
);

-- One row per compound shipped: the KPI "compounds provided" counts these.
-- Written once, at shipment, never changed.
CREATE TABLE provisions (
    id INTEGER PRIMARY KEY,
    request_id INTEGER NOT NULL REFERENCES provision_requests (id),
    compound_id INTEGER NOT NULL,
    requester_id INTEGER NOT NULL REFERENCES users (id),
    shipped_by INTEGER NOT NULL REFERENCES users (id),
    barcode TEXT NOT NULL,
    well TEXT NOT NULL,
    shipped_at INTEGER NOT NULL,
    UNIQUE (request_id, compound_id)
);
CREATE INDEX provisions_compound ON provisions (compound_id);
