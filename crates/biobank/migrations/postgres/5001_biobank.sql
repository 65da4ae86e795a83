-- A biobank node's catalogue: biobanks, participants and samples, coded
-- as crates/biobank/src/terms.rs says (ICD-10 codes, DUO ids and data-type
-- keys as ';'-separated lists). The query engine loads it into columns.
CREATE TABLE biobank_banks (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_ja TEXT NOT NULL
);

CREATE TABLE biobank_individuals (
    biobank TEXT NOT NULL REFERENCES biobank_banks (id),
    id TEXT NOT NULL,
    sex TEXT NOT NULL,
    diseases TEXT NOT NULL,
    consent TEXT NOT NULL,
    consent_disease TEXT NOT NULL,
    recontact INTEGER NOT NULL,
    data TEXT NOT NULL,
    mother TEXT NOT NULL,
    father TEXT NOT NULL,
    PRIMARY KEY (biobank, id)
);

CREATE TABLE biobank_samples (
    biobank TEXT NOT NULL REFERENCES biobank_banks (id),
    id TEXT NOT NULL,
    individual TEXT NOT NULL,
    sample_type TEXT NOT NULL,
    age INTEGER NOT NULL,
    aliquots INTEGER NOT NULL,
    storage_c INTEGER NOT NULL,
    PRIMARY KEY (biobank, id)
);
