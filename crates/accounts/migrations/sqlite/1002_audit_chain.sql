-- Each audit row carries a link of a hash chain: the SHA-256 of the
-- previous row's link and this row's content. A row removed, changed or
-- inserted by hand breaks the chain at that point (`soyaku audit verify`).
-- Rows written before this migration have no link.
ALTER TABLE audit_log ADD COLUMN chain TEXT;
