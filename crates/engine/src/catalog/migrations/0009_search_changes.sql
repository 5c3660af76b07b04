-- A log of which track each change touched, replacing 0007's bare counter: the
-- newest entry's number is the catalog's search generation (what a cached
-- search set or footer was made at), and the entries after a cache's number
-- name the tracks to re-test to bring it up to date, instead of evaluating it
-- again over the whole library. Trashing a track, or a watched folder importing
-- while someone types, no longer throws away every cached search.
--
-- `generation` is the rowid: an insert takes the largest plus one, and the
-- newest entry is never pruned, so it only grows (a rolled-back write takes its
-- entries back with it, as the counter's value went back). Only the last 4096
-- are kept; a cache further behind evaluates afresh.
CREATE TABLE search_changes (
    generation  INTEGER PRIMARY KEY,
    track_rowid INTEGER NOT NULL
);
-- Carry the counter on, so the numbering only ever grows.
INSERT INTO search_changes (generation, track_rowid) SELECT value, 0 FROM search_generation;

DROP TRIGGER search_gen_tracks_i;
DROP TRIGGER search_gen_tracks_d;
DROP TRIGGER search_gen_tracks_u;
DROP TABLE search_generation;

CREATE TRIGGER search_changes_tracks_i AFTER INSERT ON tracks BEGIN
    INSERT INTO search_changes (track_rowid) VALUES (new.rowid);
END;
CREATE TRIGGER search_changes_tracks_d AFTER DELETE ON tracks BEGIN
    INSERT INTO search_changes (track_rowid) VALUES (old.rowid);
END;
CREATE TRIGGER search_changes_tracks_u AFTER UPDATE OF
    title, artist, album, album_artist, composer, genre, comment, file_name,
    state, duration_seconds, size_bytes
ON tracks BEGIN
    INSERT INTO search_changes (track_rowid) VALUES (new.rowid);
END;
CREATE TRIGGER search_changes_prune AFTER INSERT ON search_changes BEGIN
    DELETE FROM search_changes WHERE generation <= new.generation - 4096;
END;
