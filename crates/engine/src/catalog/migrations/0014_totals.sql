-- Running totals for `stats` (and an import's closing stats): the counts and sums
-- it used to compute with scans of tracks, chunks and track_chunks on every call
-- (most of a second at 100k tracks and 1M chunks) are kept here by triggers, in the
-- same transaction as the change, so they cannot drift from the rows: whichever
-- connection or path writes (import, trash, purge, rescan, merge, a rebuild from
-- the records), the triggers see it. Derived data: not in the records, computed
-- here from the rows when a catalog is migrated.
--
-- `unique_bytes` is the plaintext size of the chunks at least one track_chunks row
-- references (cover art is a chunk no track_chunks row names). It is kept right
-- whatever order a transaction writes chunks and their references in: each side's
-- trigger counts a chunk only when the other side is already there.
--
-- Written to run again over its own result (a catalog a test took back to an older
-- version by hand keeps these): every object is made afresh and the figures counted
-- again from the rows.

DROP TABLE IF EXISTS totals;
CREATE TABLE totals (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    active_tracks  INTEGER NOT NULL,
    active_bytes   INTEGER NOT NULL,
    trashed_tracks INTEGER NOT NULL,
    trashed_bytes  INTEGER NOT NULL,
    chunks         INTEGER NOT NULL,
    stored_bytes   INTEGER NOT NULL,
    unique_bytes   INTEGER NOT NULL
);
INSERT INTO totals VALUES (1,
    (SELECT count(*) FROM tracks WHERE state = 'active'),
    (SELECT coalesce(sum(size_bytes), 0) FROM tracks WHERE state = 'active'),
    (SELECT count(*) FROM tracks WHERE state = 'trashed'),
    (SELECT coalesce(sum(size_bytes), 0) FROM tracks WHERE state = 'trashed'),
    (SELECT count(*) FROM chunks),
    (SELECT coalesce(sum(stored_size), 0) FROM chunks),
    (SELECT coalesce(sum(size), 0) FROM chunks
      WHERE EXISTS (SELECT 1 FROM track_chunks tc WHERE tc.chunk_id = chunks.id)));

-- Active tracks per format (a row stays at zero once its last track leaves).
DROP TABLE IF EXISTS format_totals;
CREATE TABLE format_totals (
    format TEXT PRIMARY KEY,
    tracks INTEGER NOT NULL,
    bytes  INTEGER NOT NULL
);
INSERT INTO format_totals (format, tracks, bytes)
    SELECT format, count(*), sum(size_bytes) FROM tracks WHERE state = 'active' GROUP BY format;

-- Tracks: a row counts under its state; an update takes the old row out and puts
-- the new one in.
DROP TRIGGER IF EXISTS totals_tracks_i;
CREATE TRIGGER totals_tracks_i AFTER INSERT ON tracks BEGIN
    UPDATE totals SET
        active_tracks  = active_tracks  + (new.state = 'active'),
        active_bytes   = active_bytes   + iif(new.state = 'active', new.size_bytes, 0),
        trashed_tracks = trashed_tracks + (new.state = 'trashed'),
        trashed_bytes  = trashed_bytes  + iif(new.state = 'trashed', new.size_bytes, 0);
    INSERT INTO format_totals (format, tracks, bytes)
        SELECT new.format, 1, new.size_bytes WHERE new.state = 'active'
        ON CONFLICT (format) DO UPDATE SET tracks = tracks + 1, bytes = bytes + excluded.bytes;
END;
DROP TRIGGER IF EXISTS totals_tracks_d;
CREATE TRIGGER totals_tracks_d AFTER DELETE ON tracks BEGIN
    UPDATE totals SET
        active_tracks  = active_tracks  - (old.state = 'active'),
        active_bytes   = active_bytes   - iif(old.state = 'active', old.size_bytes, 0),
        trashed_tracks = trashed_tracks - (old.state = 'trashed'),
        trashed_bytes  = trashed_bytes  - iif(old.state = 'trashed', old.size_bytes, 0);
    UPDATE format_totals SET tracks = tracks - 1, bytes = bytes - old.size_bytes
        WHERE format = old.format AND old.state = 'active';
END;
DROP TRIGGER IF EXISTS totals_tracks_u;
CREATE TRIGGER totals_tracks_u AFTER UPDATE OF state, size_bytes, format ON tracks BEGIN
    UPDATE totals SET
        active_tracks  = active_tracks  - (old.state = 'active') + (new.state = 'active'),
        active_bytes   = active_bytes   - iif(old.state = 'active', old.size_bytes, 0)
                                        + iif(new.state = 'active', new.size_bytes, 0),
        trashed_tracks = trashed_tracks - (old.state = 'trashed') + (new.state = 'trashed'),
        trashed_bytes  = trashed_bytes  - iif(old.state = 'trashed', old.size_bytes, 0)
                                        + iif(new.state = 'trashed', new.size_bytes, 0);
    UPDATE format_totals SET tracks = tracks - 1, bytes = bytes - old.size_bytes
        WHERE format = old.format AND old.state = 'active';
    INSERT INTO format_totals (format, tracks, bytes)
        SELECT new.format, 1, new.size_bytes WHERE new.state = 'active'
        ON CONFLICT (format) DO UPDATE SET tracks = tracks + 1, bytes = bytes + excluded.bytes;
END;

-- Chunks: every row counts in `chunks` and `stored_bytes`; in `unique_bytes` only
-- while a track_chunks row references it.
DROP TRIGGER IF EXISTS totals_chunks_i;
CREATE TRIGGER totals_chunks_i AFTER INSERT ON chunks BEGIN
    UPDATE totals SET
        chunks       = chunks + 1,
        stored_bytes = stored_bytes + new.stored_size,
        unique_bytes = unique_bytes + iif(
            EXISTS (SELECT 1 FROM track_chunks WHERE chunk_id = new.id), new.size, 0);
END;
DROP TRIGGER IF EXISTS totals_chunks_d;
CREATE TRIGGER totals_chunks_d AFTER DELETE ON chunks BEGIN
    UPDATE totals SET
        chunks       = chunks - 1,
        stored_bytes = stored_bytes - old.stored_size,
        unique_bytes = unique_bytes - iif(
            EXISTS (SELECT 1 FROM track_chunks WHERE chunk_id = old.id), old.size, 0);
END;
DROP TRIGGER IF EXISTS totals_chunks_u;
CREATE TRIGGER totals_chunks_u AFTER UPDATE OF id, size, stored_size ON chunks BEGIN
    UPDATE totals SET
        stored_bytes = stored_bytes - old.stored_size + new.stored_size,
        unique_bytes = unique_bytes
            - iif(EXISTS (SELECT 1 FROM track_chunks WHERE chunk_id = old.id), old.size, 0)
            + iif(EXISTS (SELECT 1 FROM track_chunks WHERE chunk_id = new.id), new.size, 0);
END;

-- References: the first one to a chunk adds its size, the last one gone takes it
-- away (the index track_chunks_chunk makes each check a lookup). A chunk row that
-- does not exist (yet) adds nothing; its own trigger counts it when it comes.
DROP TRIGGER IF EXISTS totals_track_chunks_i;
CREATE TRIGGER totals_track_chunks_i AFTER INSERT ON track_chunks
WHEN (SELECT count(*) FROM track_chunks WHERE chunk_id = new.chunk_id) = 1
BEGIN
    UPDATE totals SET unique_bytes = unique_bytes
        + coalesce((SELECT size FROM chunks WHERE id = new.chunk_id), 0);
END;
DROP TRIGGER IF EXISTS totals_track_chunks_d;
CREATE TRIGGER totals_track_chunks_d AFTER DELETE ON track_chunks
WHEN NOT EXISTS (SELECT 1 FROM track_chunks WHERE chunk_id = old.chunk_id)
BEGIN
    UPDATE totals SET unique_bytes = unique_bytes
        - coalesce((SELECT size FROM chunks WHERE id = old.chunk_id), 0);
END;
DROP TRIGGER IF EXISTS totals_track_chunks_u;
CREATE TRIGGER totals_track_chunks_u AFTER UPDATE OF chunk_id ON track_chunks
WHEN old.chunk_id IS NOT new.chunk_id
BEGIN
    UPDATE totals SET unique_bytes = unique_bytes
        - iif(NOT EXISTS (SELECT 1 FROM track_chunks WHERE chunk_id = old.chunk_id),
              coalesce((SELECT size FROM chunks WHERE id = old.chunk_id), 0), 0)
        + iif((SELECT count(*) FROM track_chunks WHERE chunk_id = new.chunk_id) = 1,
              coalesce((SELECT size FROM chunks WHERE id = new.chunk_id), 0), 0);
END;
