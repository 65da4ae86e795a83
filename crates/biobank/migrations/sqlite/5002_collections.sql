-- MIABIS sample collections (cohorts): each sample may belong to one,
-- named by its biobank's id for it.
ALTER TABLE biobank_samples ADD COLUMN collection TEXT NOT NULL DEFAULT '';
