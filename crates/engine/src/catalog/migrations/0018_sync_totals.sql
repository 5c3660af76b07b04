-- Running totals for `sync status` (#16), as 0014 keeps them for `stats`: the
-- counts it computed with scans of tracks, chunks, track_chunks and remote_chunks
-- on every call (the app asks after every push, pull and import) are kept by
-- triggers, in the same transaction as the change, whichever path writes.
-- This device's knowledge of the remote, like remote_packs: a snapshot for the
-- remote carries both tables empty (`remote::DEVICE_TABLES`).
--
-- A chunk is "remote" when some remote_chunks row names it, "referenced" when a
-- track_chunks row or a track's artwork_id does; pending = in chunks, referenced,
-- not remote. A track is local-only when its content is not in remote_contents or
-- one of its track_chunks rows names a chunk that is not remote: `track_sync`
-- keeps both per track (`missing` counts such rows), and its own triggers keep the
-- total. Each trigger looks at the one chunk or track its row names (indexed), so
-- a change costs what it touches.
--
-- Written to run again over its own result (a catalog a test took back to an
-- older version by hand): every object is made afresh and counted from the rows.

DROP TABLE IF EXISTS sync_totals;
CREATE TABLE sync_totals (
    id                INTEGER PRIMARY KEY CHECK (id = 1),
    remote_packs      INTEGER NOT NULL,
    remote_chunks     INTEGER NOT NULL,   -- distinct chunk ids
    pending_chunks    INTEGER NOT NULL,
    pending_bytes     INTEGER NOT NULL,
    tracks_local_only INTEGER NOT NULL
);

DROP TABLE IF EXISTS track_sync;
CREATE TABLE track_sync (
    track_id           TEXT PRIMARY KEY,
    in_remote_contents INTEGER NOT NULL,
    missing            INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO track_sync
    SELECT t.id,
           EXISTS (SELECT 1 FROM remote_contents rc WHERE rc.sha256 = t.sha256),
           (SELECT count(*) FROM track_chunks tc WHERE tc.track_id = t.id
              AND NOT EXISTS (SELECT 1 FROM remote_chunks r WHERE r.chunk_id = tc.chunk_id))
    FROM tracks t;

INSERT INTO sync_totals VALUES (1,
    (SELECT count(*) FROM remote_packs),
    (SELECT count(DISTINCT chunk_id) FROM remote_chunks),
    (SELECT count(*) FROM chunks c
      WHERE NOT EXISTS (SELECT 1 FROM remote_chunks r WHERE r.chunk_id = c.id)
        AND (EXISTS (SELECT 1 FROM track_chunks tc WHERE tc.chunk_id = c.id)
             OR EXISTS (SELECT 1 FROM tracks t WHERE t.artwork_id = c.id))),
    (SELECT ifnull(sum(stored_size), 0) FROM chunks c
      WHERE NOT EXISTS (SELECT 1 FROM remote_chunks r WHERE r.chunk_id = c.id)
        AND (EXISTS (SELECT 1 FROM track_chunks tc WHERE tc.chunk_id = c.id)
             OR EXISTS (SELECT 1 FROM tracks t WHERE t.artwork_id = c.id))),
    (SELECT count(*) FROM track_sync WHERE in_remote_contents = 0 OR missing > 0));

-- track_sync: each row counts once in tracks_local_only while it is local-only.
DROP TRIGGER IF EXISTS sync_totals_track_sync_i;
CREATE TRIGGER sync_totals_track_sync_i AFTER INSERT ON track_sync BEGIN
    UPDATE sync_totals SET tracks_local_only = tracks_local_only
        + (new.in_remote_contents = 0 OR new.missing > 0);
END;
DROP TRIGGER IF EXISTS sync_totals_track_sync_d;
CREATE TRIGGER sync_totals_track_sync_d AFTER DELETE ON track_sync BEGIN
    UPDATE sync_totals SET tracks_local_only = tracks_local_only
        - (old.in_remote_contents = 0 OR old.missing > 0);
END;
DROP TRIGGER IF EXISTS sync_totals_track_sync_u;
CREATE TRIGGER sync_totals_track_sync_u AFTER UPDATE ON track_sync BEGIN
    UPDATE sync_totals SET tracks_local_only = tracks_local_only
        - (old.in_remote_contents = 0 OR old.missing > 0)
        + (new.in_remote_contents = 0 OR new.missing > 0);
END;

-- remote_packs: a count.
DROP TRIGGER IF EXISTS sync_totals_packs_i;
CREATE TRIGGER sync_totals_packs_i AFTER INSERT ON remote_packs BEGIN
    UPDATE sync_totals SET remote_packs = remote_packs + 1;
END;
DROP TRIGGER IF EXISTS sync_totals_packs_d;
CREATE TRIGGER sync_totals_packs_d AFTER DELETE ON remote_packs BEGIN
    UPDATE sync_totals SET remote_packs = remote_packs - 1;
END;

-- remote_chunks: a chunk's first copy makes it remote, its last one's going makes
-- it not; copies in between change nothing.
DROP TRIGGER IF EXISTS sync_totals_remote_chunks_i;
CREATE TRIGGER sync_totals_remote_chunks_i AFTER INSERT ON remote_chunks
WHEN (SELECT count(*) FROM remote_chunks WHERE chunk_id = new.chunk_id) = 1
BEGIN
    UPDATE sync_totals SET
        remote_chunks  = remote_chunks + 1,
        pending_chunks = pending_chunks - (SELECT count(*) FROM chunks c WHERE c.id = new.chunk_id
            AND (EXISTS (SELECT 1 FROM track_chunks tc WHERE tc.chunk_id = c.id)
                 OR EXISTS (SELECT 1 FROM tracks t WHERE t.artwork_id = c.id))),
        pending_bytes  = pending_bytes - (SELECT ifnull(sum(c.stored_size), 0) FROM chunks c WHERE c.id = new.chunk_id
            AND (EXISTS (SELECT 1 FROM track_chunks tc WHERE tc.chunk_id = c.id)
                 OR EXISTS (SELECT 1 FROM tracks t WHERE t.artwork_id = c.id)));
    UPDATE track_sync SET missing = missing - (SELECT count(*) FROM track_chunks tc
            WHERE tc.track_id = track_sync.track_id AND tc.chunk_id = new.chunk_id)
        WHERE track_id IN (SELECT track_id FROM track_chunks WHERE chunk_id = new.chunk_id);
END;
DROP TRIGGER IF EXISTS sync_totals_remote_chunks_d;
CREATE TRIGGER sync_totals_remote_chunks_d AFTER DELETE ON remote_chunks
WHEN NOT EXISTS (SELECT 1 FROM remote_chunks WHERE chunk_id = old.chunk_id)
BEGIN
    UPDATE sync_totals SET
        remote_chunks  = remote_chunks - 1,
        pending_chunks = pending_chunks + (SELECT count(*) FROM chunks c WHERE c.id = old.chunk_id
            AND (EXISTS (SELECT 1 FROM track_chunks tc WHERE tc.chunk_id = c.id)
                 OR EXISTS (SELECT 1 FROM tracks t WHERE t.artwork_id = c.id))),
        pending_bytes  = pending_bytes + (SELECT ifnull(sum(c.stored_size), 0) FROM chunks c WHERE c.id = old.chunk_id
            AND (EXISTS (SELECT 1 FROM track_chunks tc WHERE tc.chunk_id = c.id)
                 OR EXISTS (SELECT 1 FROM tracks t WHERE t.artwork_id = c.id)));
    UPDATE track_sync SET missing = missing + (SELECT count(*) FROM track_chunks tc
            WHERE tc.track_id = track_sync.track_id AND tc.chunk_id = old.chunk_id)
        WHERE track_id IN (SELECT track_id FROM track_chunks WHERE chunk_id = old.chunk_id);
END;

-- track_chunks: a reference to a chunk that is not remote; the chunk's first
-- reference makes it pending, its last one's going makes it not.
DROP TRIGGER IF EXISTS sync_totals_track_chunks_i;
CREATE TRIGGER sync_totals_track_chunks_i AFTER INSERT ON track_chunks
WHEN NOT EXISTS (SELECT 1 FROM remote_chunks WHERE chunk_id = new.chunk_id)
BEGIN
    UPDATE track_sync SET missing = missing + 1 WHERE track_id = new.track_id;
    UPDATE sync_totals SET
        pending_chunks = pending_chunks + 1,
        pending_bytes  = pending_bytes + (SELECT stored_size FROM chunks WHERE id = new.chunk_id)
    WHERE EXISTS (SELECT 1 FROM chunks WHERE id = new.chunk_id)
      AND (SELECT count(*) FROM track_chunks WHERE chunk_id = new.chunk_id) = 1
      AND NOT EXISTS (SELECT 1 FROM tracks WHERE artwork_id = new.chunk_id);
END;
DROP TRIGGER IF EXISTS sync_totals_track_chunks_d;
CREATE TRIGGER sync_totals_track_chunks_d AFTER DELETE ON track_chunks
WHEN NOT EXISTS (SELECT 1 FROM remote_chunks WHERE chunk_id = old.chunk_id)
BEGIN
    UPDATE track_sync SET missing = missing - 1 WHERE track_id = old.track_id;
    UPDATE sync_totals SET
        pending_chunks = pending_chunks - 1,
        pending_bytes  = pending_bytes - (SELECT stored_size FROM chunks WHERE id = old.chunk_id)
    WHERE EXISTS (SELECT 1 FROM chunks WHERE id = old.chunk_id)
      AND NOT EXISTS (SELECT 1 FROM track_chunks WHERE chunk_id = old.chunk_id)
      AND NOT EXISTS (SELECT 1 FROM tracks WHERE artwork_id = old.chunk_id);
END;

-- chunks: a referenced chunk that is not remote counts while its row exists.
DROP TRIGGER IF EXISTS sync_totals_chunks_i;
CREATE TRIGGER sync_totals_chunks_i AFTER INSERT ON chunks
WHEN NOT EXISTS (SELECT 1 FROM remote_chunks WHERE chunk_id = new.id)
 AND (EXISTS (SELECT 1 FROM track_chunks WHERE chunk_id = new.id)
      OR EXISTS (SELECT 1 FROM tracks WHERE artwork_id = new.id))
BEGIN
    UPDATE sync_totals SET pending_chunks = pending_chunks + 1,
                           pending_bytes  = pending_bytes + new.stored_size;
END;
DROP TRIGGER IF EXISTS sync_totals_chunks_d;
CREATE TRIGGER sync_totals_chunks_d AFTER DELETE ON chunks
WHEN NOT EXISTS (SELECT 1 FROM remote_chunks WHERE chunk_id = old.id)
 AND (EXISTS (SELECT 1 FROM track_chunks WHERE chunk_id = old.id)
      OR EXISTS (SELECT 1 FROM tracks WHERE artwork_id = old.id))
BEGIN
    UPDATE sync_totals SET pending_chunks = pending_chunks - 1,
                           pending_bytes  = pending_bytes - old.stored_size;
END;
DROP TRIGGER IF EXISTS sync_totals_chunks_u;
CREATE TRIGGER sync_totals_chunks_u AFTER UPDATE OF stored_size ON chunks
WHEN NOT EXISTS (SELECT 1 FROM remote_chunks WHERE chunk_id = new.id)
 AND (EXISTS (SELECT 1 FROM track_chunks WHERE chunk_id = new.id)
      OR EXISTS (SELECT 1 FROM tracks WHERE artwork_id = new.id))
BEGIN
    UPDATE sync_totals SET pending_bytes = pending_bytes - old.stored_size + new.stored_size;
END;

-- tracks: a row of track_sync per track; cover art is a reference too.
DROP TRIGGER IF EXISTS sync_totals_tracks_i;
CREATE TRIGGER sync_totals_tracks_i AFTER INSERT ON tracks BEGIN
    INSERT INTO track_sync (track_id, in_remote_contents, missing)
        SELECT new.id,
               EXISTS (SELECT 1 FROM remote_contents WHERE sha256 = new.sha256),
               (SELECT count(*) FROM track_chunks tc WHERE tc.track_id = new.id
                  AND NOT EXISTS (SELECT 1 FROM remote_chunks r WHERE r.chunk_id = tc.chunk_id))
        WHERE true
        ON CONFLICT (track_id) DO UPDATE SET
            in_remote_contents = excluded.in_remote_contents, missing = excluded.missing;
    UPDATE sync_totals SET
        pending_chunks = pending_chunks + 1,
        pending_bytes  = pending_bytes + (SELECT stored_size FROM chunks WHERE id = new.artwork_id)
    WHERE new.artwork_id IS NOT NULL
      AND EXISTS (SELECT 1 FROM chunks WHERE id = new.artwork_id)
      AND NOT EXISTS (SELECT 1 FROM remote_chunks WHERE chunk_id = new.artwork_id)
      AND NOT EXISTS (SELECT 1 FROM track_chunks WHERE chunk_id = new.artwork_id)
      AND (SELECT count(*) FROM tracks WHERE artwork_id = new.artwork_id) = 1;
END;
DROP TRIGGER IF EXISTS sync_totals_tracks_d;
CREATE TRIGGER sync_totals_tracks_d AFTER DELETE ON tracks BEGIN
    DELETE FROM track_sync WHERE track_id = old.id;
    UPDATE sync_totals SET
        pending_chunks = pending_chunks - 1,
        pending_bytes  = pending_bytes - (SELECT stored_size FROM chunks WHERE id = old.artwork_id)
    WHERE old.artwork_id IS NOT NULL
      AND EXISTS (SELECT 1 FROM chunks WHERE id = old.artwork_id)
      AND NOT EXISTS (SELECT 1 FROM remote_chunks WHERE chunk_id = old.artwork_id)
      AND NOT EXISTS (SELECT 1 FROM track_chunks WHERE chunk_id = old.artwork_id)
      AND NOT EXISTS (SELECT 1 FROM tracks WHERE artwork_id = old.artwork_id);
END;
DROP TRIGGER IF EXISTS sync_totals_tracks_art;
CREATE TRIGGER sync_totals_tracks_art AFTER UPDATE OF artwork_id ON tracks
WHEN old.artwork_id IS NOT new.artwork_id
BEGIN
    UPDATE sync_totals SET
        pending_chunks = pending_chunks - 1,
        pending_bytes  = pending_bytes - (SELECT stored_size FROM chunks WHERE id = old.artwork_id)
    WHERE old.artwork_id IS NOT NULL
      AND EXISTS (SELECT 1 FROM chunks WHERE id = old.artwork_id)
      AND NOT EXISTS (SELECT 1 FROM remote_chunks WHERE chunk_id = old.artwork_id)
      AND NOT EXISTS (SELECT 1 FROM track_chunks WHERE chunk_id = old.artwork_id)
      AND NOT EXISTS (SELECT 1 FROM tracks WHERE artwork_id = old.artwork_id);
    UPDATE sync_totals SET
        pending_chunks = pending_chunks + 1,
        pending_bytes  = pending_bytes + (SELECT stored_size FROM chunks WHERE id = new.artwork_id)
    WHERE new.artwork_id IS NOT NULL
      AND EXISTS (SELECT 1 FROM chunks WHERE id = new.artwork_id)
      AND NOT EXISTS (SELECT 1 FROM remote_chunks WHERE chunk_id = new.artwork_id)
      AND NOT EXISTS (SELECT 1 FROM track_chunks WHERE chunk_id = new.artwork_id)
      AND (SELECT count(*) FROM tracks WHERE artwork_id = new.artwork_id) = 1;
END;
DROP TRIGGER IF EXISTS sync_totals_tracks_sha;
CREATE TRIGGER sync_totals_tracks_sha AFTER UPDATE OF sha256 ON tracks
WHEN old.sha256 IS NOT new.sha256
BEGIN
    UPDATE track_sync SET in_remote_contents =
        EXISTS (SELECT 1 FROM remote_contents WHERE sha256 = new.sha256)
        WHERE track_id = new.id;
END;

-- remote_contents: a content pushed or merged.
DROP TRIGGER IF EXISTS sync_totals_contents_i;
CREATE TRIGGER sync_totals_contents_i AFTER INSERT ON remote_contents BEGIN
    UPDATE track_sync SET in_remote_contents = 1
        WHERE track_id IN (SELECT id FROM tracks WHERE sha256 = new.sha256);
END;
DROP TRIGGER IF EXISTS sync_totals_contents_d;
CREATE TRIGGER sync_totals_contents_d AFTER DELETE ON remote_contents BEGIN
    UPDATE track_sync SET in_remote_contents = 0
        WHERE track_id IN (SELECT id FROM tracks WHERE sha256 = old.sha256);
END;
