-- The console's sign-in. A console user is an operator (same id, role and scope as its API
-- token), so the console and the API authorise alike. Only an argon2id hash of the password
-- is kept; five wrong passwords in a row lock the account until locked_until_ms.
ALTER TABLE operator ADD COLUMN username TEXT;
ALTER TABLE operator ADD COLUMN password_hash TEXT;
ALTER TABLE operator ADD COLUMN failed_logins BIGINT NOT NULL DEFAULT 0;
ALTER TABLE operator ADD COLUMN locked_until_ms BIGINT;
CREATE UNIQUE INDEX operator_username ON operator (username);
-- Console sessions, in the database so that every HQ instance on one PostgreSQL knows them
-- and they survive a restart. Only the SHA-256 of the session id is kept.
CREATE TABLE console_session (
    id_hash TEXT PRIMARY KEY, operator_id TEXT NOT NULL, created_ms BIGINT NOT NULL, expires_ms BIGINT NOT NULL
);
CREATE INDEX console_session_operator ON console_session (operator_id);
