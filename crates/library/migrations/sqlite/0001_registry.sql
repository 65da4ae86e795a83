-- The three registry tiers and the bookkeeping that makes imports resumable.
-- Kept portable: the PostgreSQL twin differs only in key and blob types.
CREATE TABLE parents (
    id INTEGER PRIMARY KEY,
    inchikey TEXT NOT NULL UNIQUE,
    connectivity_key TEXT NOT NULL,
    tautomer_hash TEXT NOT NULL,
    smiles TEXT NOT NULL,
    inchi TEXT NOT NULL,
    mol_wt REAL NOT NULL,
    exact_mol_wt REAL NOT NULL,
    clogp REAL NOT NULL,
    tpsa REAL NOT NULL,
    hbd INTEGER NOT NULL,
    hba INTEGER NOT NULL,
    rotatable_bonds INTEGER NOT NULL,
    rings INTEGER NOT NULL,
    aromatic_rings INTEGER NOT NULL,
    heavy_atoms INTEGER NOT NULL,
    formal_charge INTEGER NOT NULL,
    fraction_csp3 REAL NOT NULL,
    morgan BLOB NOT NULL,
    pattern BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX parents_connectivity ON parents (connectivity_key);
CREATE INDEX parents_tautomer ON parents (tautomer_hash);

CREATE TABLE batches (
    id INTEGER PRIMARY KEY,
    parent_id INTEGER NOT NULL REFERENCES parents (id),
    source TEXT NOT NULL,
    external_id TEXT NOT NULL,
    submitted_smiles TEXT NOT NULL,
    salt_form TEXT NOT NULL,
    supplier TEXT,
    purity REAL,
    created_at INTEGER NOT NULL,
    UNIQUE (source, external_id)
);
CREATE INDEX batches_parent ON batches (parent_id);

CREATE TABLE samples (
    id INTEGER PRIMARY KEY,
    batch_id INTEGER NOT NULL REFERENCES batches (id),
    container TEXT NOT NULL,
    barcode TEXT NOT NULL,
    well TEXT NOT NULL,
    concentration_mm REAL,
    volume_ul REAL,
    location TEXT,
    created_at INTEGER NOT NULL,
    UNIQUE (barcode, well)
);
CREATE INDEX samples_batch ON samples (batch_id);

CREATE TABLE imports (
    id INTEGER PRIMARY KEY,
    digest TEXT NOT NULL,
    source TEXT NOT NULL,
    path TEXT NOT NULL,
    status TEXT NOT NULL,
    records_done INTEGER NOT NULL,
    parents_new INTEGER NOT NULL,
    batches_new INTEGER NOT NULL,
    samples_new INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    unchanged INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (digest, source)
);

-- Bad records of an import, written in the same transaction as the chunk they
-- belong to, so a resumed import reports each exactly once.
CREATE TABLE import_errors (
    import_id INTEGER NOT NULL REFERENCES imports (id),
    record INTEGER NOT NULL,
    line INTEGER NOT NULL,
    external_id TEXT,
    reason TEXT NOT NULL,
    input TEXT NOT NULL,
    PRIMARY KEY (import_id, record)
);
