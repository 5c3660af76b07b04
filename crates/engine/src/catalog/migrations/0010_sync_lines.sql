-- Sync as several writers (sync/lines.rs and sync/merge.rs have the model).
-- Library changes carry Lamport stamps instead of wall-clock times, every "keep"
-- of a content is an add that a purge can remove, and each device records which
-- manifest of every device's line its catalog includes.

-- The library's logical clock: every import batch, trash, restore and purge
-- takes the next value, and a merge raises it past every stamp it brings in, so a
-- choice made after seeing another carries the larger stamp whatever the devices'
-- wall clocks say. Travels with catalog snapshots.
CREATE TABLE lamport (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO lamport (id, value) VALUES (1, 0);

-- When the track's state (active or trashed) was last chosen, as a stamp: the
-- larger stamp wins a merge, and between equal stamps 'active' (nothing hidden).
ALTER TABLE tracks ADD COLUMN state_clock INTEGER NOT NULL DEFAULT 0;

-- Each time a device chose to keep a content (an import, a restore), tagged by
-- the device and its stamp. A purge marks every add its device knows as removed;
-- a content is alive while one add is not removed. So a purge takes away what its
-- device had seen, never an import or a restore made elsewhere that it had not
-- (those survive it), and no older copy of the catalog brings a purged track back.
-- Merging is a union with `removed` only ever going from 0 to 1.
CREATE TABLE content_adds (
    sha256  BLOB NOT NULL,
    device  TEXT NOT NULL,
    clock   INTEGER NOT NULL,
    removed INTEGER NOT NULL DEFAULT 0 CHECK (removed IN (0, 1)),
    PRIMARY KEY (sha256, device, clock)
) WITHOUT ROWID;
-- Tracks from before: one shared add, the same on every device that has the
-- track, so a purge anywhere reaches all of them.
INSERT INTO content_adds (sha256, device, clock) SELECT sha256, 'legacy', 0 FROM tracks;

-- The latest purge of each content, for display (the adds carry the decision).
CREATE TABLE tombstones (
    sha256    BLOB PRIMARY KEY,
    clock     INTEGER NOT NULL,
    purged_at INTEGER NOT NULL              -- unix seconds
) WITHOUT ROWID;

CREATE TRIGGER sync_gen_adds_i AFTER INSERT ON content_adds BEGIN UPDATE sync_generation SET value = value + 1; END;
CREATE TRIGGER sync_gen_adds_u AFTER UPDATE ON content_adds BEGIN UPDATE sync_generation SET value = value + 1; END;
CREATE TRIGGER sync_gen_tombstones_i AFTER INSERT ON tombstones BEGIN UPDATE sync_generation SET value = value + 1; END;
CREATE TRIGGER sync_gen_tombstones_u AFTER UPDATE ON tombstones BEGIN UPDATE sync_generation SET value = value + 1; END;

-- Every place a chunk lies on the remote, not only the first one heard of: two
-- devices may upload the same chunk in packs of their own, and when remote GC
-- removes one of those packs the other copy must still be known.
CREATE TABLE remote_chunks_by_pack (
    chunk_id BLOB NOT NULL,
    pack_id  BLOB NOT NULL REFERENCES remote_packs(id) ON DELETE CASCADE,
    offset   INTEGER NOT NULL,
    length   INTEGER NOT NULL,
    PRIMARY KEY (chunk_id, pack_id)
) WITHOUT ROWID;
INSERT INTO remote_chunks_by_pack SELECT chunk_id, pack_id, offset, length FROM remote_chunks;
DROP TABLE remote_chunks;
ALTER TABLE remote_chunks_by_pack RENAME TO remote_chunks;
CREATE INDEX remote_chunks_pack ON remote_chunks(pack_id);

-- Which tracks use a cover: chunk accounting (what is left to push, what GC may
-- remove) asks this of every chunk.
CREATE INDEX tracks_artwork ON tracks(artwork_id) WHERE artwork_id IS NOT NULL;

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
