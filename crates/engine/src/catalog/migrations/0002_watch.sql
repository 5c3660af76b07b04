-- Watched import folders (the `watch` module).
-- Paths are stored as their raw bytes (BLOB): a folder or file whose name is not
-- UTF-8 must still be told apart from every other one.

-- The folders the user asked to watch, with each folder's policy.
CREATE TABLE watch_folders (
    id            INTEGER PRIMARY KEY,
    path          BLOB NOT NULL UNIQUE,          -- absolute, canonical when added
    enabled       INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    recursive     INTEGER NOT NULL DEFAULT 1 CHECK (recursive IN (0, 1)),
    after_import  TEXT NOT NULL DEFAULT 'keep' CHECK (after_import IN ('keep', 'remove')),
    move_failures INTEGER NOT NULL DEFAULT 1 CHECK (move_failures IN (0, 1)),
    settle_ms     INTEGER NOT NULL DEFAULT 3000 CHECK (settle_ms >= 0),
    force_poll    INTEGER NOT NULL DEFAULT 0 CHECK (force_poll IN (0, 1)),
    added_at      INTEGER NOT NULL
);

-- What the watcher decided about a file it found, by the file's path. A kept file
-- is recognised by (size, mtime) without reading it, and by its SHA-256 after a
-- touch, so it is never imported twice. 'not_imported' rows are files left in
-- place after a failure: they are not retried until they change.
CREATE TABLE watch_files (
    path        BLOB PRIMARY KEY,
    folder      BLOB NOT NULL,                   -- the watched folder it was found in
    size_bytes  INTEGER NOT NULL,
    mtime_ns    INTEGER NOT NULL,                -- nanoseconds since the Unix epoch
    sha256      BLOB,
    status      TEXT NOT NULL CHECK (status IN ('imported', 'duplicate', 'not_imported')),
    track_id    TEXT,
    updated_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- The 'Not imported' list: every file the watcher gave up on, with the reason and
-- where the file is now (moved into the folder's 'Not imported' subfolder, or left
-- in place). Files are never deleted; rows go when the user clears the list or the
-- same path is later imported.
CREATE TABLE watch_failures (
    id         INTEGER PRIMARY KEY,
    folder     BLOB NOT NULL,
    path       BLOB NOT NULL,                    -- where the watcher found it
    moved_to   BLOB,                             -- null: left where it was
    outcome    TEXT NOT NULL CHECK (outcome IN ('rejected', 'failed')),
    reason     TEXT NOT NULL,
    size_bytes INTEGER,
    at         INTEGER NOT NULL
);
CREATE INDEX watch_failures_path ON watch_failures(path);
