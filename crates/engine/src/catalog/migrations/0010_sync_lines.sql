-- Sync as several writers (sync/mod.rs has the model). Library changes carry
-- Lamport stamps instead of wall-clock times, purges leave tombstones, and each
-- device records which manifest of every device's line its catalog includes.

-- The library's logical clock: every import batch, trash, restore and purge
-- takes the next value, and a pull raises it to the largest stamp it merges, so
-- a change made after seeing another always carries a larger stamp, whatever the
-- wall clocks of the devices say. Travels with catalog snapshots.
CREATE TABLE lamport (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO lamport (id, value) VALUES (1, 0);

-- When the content was (last) added to the library, and when its state (active or
-- trashed) was last chosen, as Lamport stamps. A track is alive while the larger of
-- the two is at least its tombstone's stamp.
ALTER TABLE tracks ADD COLUMN added_clock INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tracks ADD COLUMN state_clock INTEGER NOT NULL DEFAULT 0;

-- Purged content, by SHA-256: a pull on another device deletes the track and its
-- exclusive chunks, and no older copy brings it back. Kept for good (a few dozen
-- bytes each); the catalog snapshot that carries them is encrypted.
CREATE TABLE tombstones (
    sha256    BLOB PRIMARY KEY,
    clock     INTEGER NOT NULL,
    purged_at INTEGER NOT NULL              -- unix seconds, for display only
) WITHOUT ROWID;

CREATE TRIGGER sync_gen_tombstones_i AFTER INSERT ON tombstones BEGIN UPDATE sync_generation SET value = value + 1; END;
CREATE TRIGGER sync_gen_tombstones_u AFTER UPDATE ON tombstones BEGIN UPDATE sync_generation SET value = value + 1; END;

-- Device-local (emptied in snapshots): for each device's line of manifests, the
-- newest sequence number whose library this catalog includes (this device's own
-- last push among them).
CREATE TABLE sync_heads (
    device TEXT PRIMARY KEY,
    seq    INTEGER NOT NULL
) WITHOUT ROWID;

-- Device-local: contents that a manifest this device pushed or merged holds, so
-- "in the cloud" means reachable from a manifest that remote GC keeps, not merely
-- uploaded once.
CREATE TABLE remote_contents (
    sha256 BLOB PRIMARY KEY
) WITHOUT ROWID;
