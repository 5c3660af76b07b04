-- Cloud-only tracks (issue 15). Both tables belong to this device, not to the
-- library: a snapshot for the remote leaves them empty and no record holds them,
-- so an eviction on one device never reaches another device's copy.
--
-- A chunk listed here has had (or is about to have) its local file deleted
-- because a pack on the remote holds it and a manifest remote GC keeps references
-- that pack. The row is committed before the file is deleted (see sync::evict):
-- the catalog never says "local" for a chunk whose file is gone. Removed with its
-- chunk row (a purge collected by GC). IF NOT EXISTS: safe to run again, as 0014.
CREATE TABLE IF NOT EXISTS evicted_chunks (
    chunk_id   BLOB PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
    evicted_at INTEGER NOT NULL   -- unix seconds
) WITHOUT ROWID;

-- When this device last played each track (the player's requests), for
-- "free up space of tracks not played for N days". Not in tracks: a play must
-- neither rewrite the track's record nor count as a change for the next push.
CREATE TABLE IF NOT EXISTS track_plays (
    track_id    TEXT PRIMARY KEY REFERENCES tracks(id) ON DELETE CASCADE,
    last_played INTEGER NOT NULL  -- unix seconds
) WITHOUT ROWID;
