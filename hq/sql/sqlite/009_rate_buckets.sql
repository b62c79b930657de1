-- Token buckets kept in the database, so that several HQ instances on one PostgreSQL enforce
-- one limit per device between them. (On SQLite HQ is one process per data folder and keeps
-- its buckets in memory; the table exists on both so the schemas stay alike.)
CREATE TABLE rate_bucket (key TEXT PRIMARY KEY, tokens REAL NOT NULL, at_ms INTEGER NOT NULL);
