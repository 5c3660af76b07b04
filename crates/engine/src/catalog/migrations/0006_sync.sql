-- Cloud sync: what this device knows of its S3 remote. None of it is a secret:
-- the access keys live in the OS keyring.

-- The remote's settings (one row). Kept apart from `settings` because those are
-- part of the library that a catalog snapshot carries to other devices, while an
-- endpoint and bucket are how this device reaches it.
CREATE TABLE remote_config (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    endpoint    TEXT,                              -- null: AWS
    region      TEXT NOT NULL,
    bucket      TEXT NOT NULL,
    prefix      TEXT NOT NULL DEFAULT '',
    path_style  INTEGER NOT NULL DEFAULT 0 CHECK (path_style IN (0, 1)),
    parallelism INTEGER NOT NULL DEFAULT 8 CHECK (parallelism BETWEEN 1 AND 64)
);

-- Key/value sync state: device id, what was last pushed and merged, when.
CREATE TABLE sync_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- Pack objects on the remote that this device knows of (its own and, through
-- their index objects, other devices').
CREATE TABLE remote_packs (
    id         BLOB PRIMARY KEY,                   -- 32 random bytes; the object is packs/<hex>
    size       INTEGER NOT NULL,
    index_name TEXT,                               -- the index object listing it; null until written
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Where each chunk lives on the remote. Catalog snapshots' own chunks are here too,
-- although no track references them.
CREATE TABLE remote_chunks (
    chunk_id BLOB PRIMARY KEY,
    pack_id  BLOB NOT NULL REFERENCES remote_packs(id) ON DELETE CASCADE,
    offset   INTEGER NOT NULL,
    length   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX remote_chunks_pack ON remote_chunks(pack_id);

-- Index objects already read, so a pull fetches only new ones.
CREATE TABLE remote_indexes (
    name TEXT PRIMARY KEY
) WITHOUT ROWID;

-- A counter bumped by every change to what a catalog snapshot carries, so a push
-- with nothing new is two queries, not a snapshot of the catalog.
CREATE TABLE sync_generation (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO sync_generation (id, value) VALUES (1, 1);

CREATE TRIGGER sync_gen_tracks_i AFTER INSERT ON tracks BEGIN UPDATE sync_generation SET value = value + 1; END;
CREATE TRIGGER sync_gen_tracks_u AFTER UPDATE ON tracks BEGIN UPDATE sync_generation SET value = value + 1; END;
CREATE TRIGGER sync_gen_tracks_d AFTER DELETE ON tracks BEGIN UPDATE sync_generation SET value = value + 1; END;
CREATE TRIGGER sync_gen_tags_i AFTER INSERT ON track_tags BEGIN UPDATE sync_generation SET value = value + 1; END;
CREATE TRIGGER sync_gen_tags_d AFTER DELETE ON track_tags BEGIN UPDATE sync_generation SET value = value + 1; END;
CREATE TRIGGER sync_gen_analysis_i AFTER INSERT ON analysis BEGIN UPDATE sync_generation SET value = value + 1; END;
CREATE TRIGGER sync_gen_analysis_u AFTER UPDATE ON analysis BEGIN UPDATE sync_generation SET value = value + 1; END;
CREATE TRIGGER sync_gen_settings_i AFTER INSERT ON settings BEGIN UPDATE sync_generation SET value = value + 1; END;
CREATE TRIGGER sync_gen_settings_u AFTER UPDATE ON settings BEGIN UPDATE sync_generation SET value = value + 1; END;
CREATE TRIGGER sync_gen_settings_d AFTER DELETE ON settings BEGIN UPDATE sync_generation SET value = value + 1; END;

-- When a track last changed state (trashed or restored), so a pull can tell which
-- device's choice is newer.
ALTER TABLE tracks ADD COLUMN state_changed_at INTEGER;
