-- Tracks: one row per distinct file content (sha256 is unique).
CREATE TABLE tracks (
    id            TEXT PRIMARY KEY,             -- 16 hex chars, random
    sha256        BLOB NOT NULL UNIQUE,         -- 32 bytes, SHA-256 of the whole original file
    size_bytes    INTEGER NOT NULL,
    file_name     TEXT NOT NULL,                -- for display; lossy when the name is not UTF-8
    file_name_raw BLOB,                         -- the original name's bytes when not UTF-8
    source_path   TEXT,                         -- where it was imported from (display only)
    source_mtime  INTEGER,                      -- unix seconds, restored on export
    format        TEXT NOT NULL,                -- from the extension until media metadata refines it
    imported_at   INTEGER NOT NULL,             -- unix seconds
    state         TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'trashed')),
    trashed_at    INTEGER,
    import_job_id INTEGER REFERENCES import_jobs(id) ON DELETE SET NULL
);
CREATE INDEX tracks_state_imported ON tracks(state, imported_at, id);
CREATE INDEX tracks_size ON tracks(size_bytes);
CREATE INDEX tracks_file_name ON tracks(file_name COLLATE NOCASE, id);

-- Chunks the catalog references. A row exists only once the chunk is durable.
CREATE TABLE chunks (
    id          BLOB PRIMARY KEY,               -- 32-byte keyed hash of the plaintext
    size        INTEGER NOT NULL,               -- plaintext bytes
    stored_size INTEGER NOT NULL,               -- encrypted object bytes
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- The ordered chunk list of each track: random access for playback and seeking.
CREATE TABLE track_chunks (
    track_id TEXT NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
    seq      INTEGER NOT NULL,
    chunk_id BLOB NOT NULL REFERENCES chunks(id),
    offset   INTEGER NOT NULL,
    length   INTEGER NOT NULL,
    PRIMARY KEY (track_id, seq)
) WITHOUT ROWID;
CREATE INDEX track_chunks_chunk ON track_chunks(chunk_id);

CREATE TABLE import_jobs (
    id          INTEGER PRIMARY KEY,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    status      TEXT NOT NULL CHECK (status IN ('running', 'completed', 'cancelled', 'failed', 'interrupted')),
    source      TEXT NOT NULL,                  -- 'cli', 'app', 'watch'
    pid         INTEGER,
    files_total INTEGER NOT NULL DEFAULT 0,
    imported    INTEGER NOT NULL DEFAULT 0,
    duplicates  INTEGER NOT NULL DEFAULT 0,
    rejected    INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    error       TEXT
);

CREATE TABLE import_job_items (
    job_id   INTEGER NOT NULL REFERENCES import_jobs(id) ON DELETE CASCADE,
    seq      INTEGER NOT NULL,
    path     TEXT NOT NULL,
    outcome  TEXT NOT NULL CHECK (outcome IN ('imported', 'duplicate', 'rejected', 'failed')),
    reason   TEXT,
    track_id TEXT,
    PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;

CREATE TABLE activity (
    id      INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,
    kind    TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX activity_at ON activity(at);

-- User settings. Never secrets: those live in the OS keyring.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
