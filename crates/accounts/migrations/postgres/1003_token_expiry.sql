-- API tokens end: every token made from now on has an expiry (seconds since
-- the Unix epoch); tokens made before have none until revoked.
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;
