-- Which track each step of search_generation changed, so a cached search set
-- or footer is brought up to date by re-testing those few tracks instead of
-- being evaluated again over the whole library: trashing a track, or a watched
-- folder importing while someone types, no longer throws away every cached
-- search. Only the last 4096 steps are kept; a cache further behind than that
-- evaluates afresh.
CREATE TABLE search_changes (
    generation  INTEGER PRIMARY KEY,
    track_rowid INTEGER NOT NULL
);

DROP TRIGGER search_gen_tracks_i;
DROP TRIGGER search_gen_tracks_d;
DROP TRIGGER search_gen_tracks_u;

CREATE TRIGGER search_gen_tracks_i AFTER INSERT ON tracks BEGIN
    UPDATE search_generation SET value = value + 1;
    INSERT INTO search_changes (generation, track_rowid)
        SELECT value, new.rowid FROM search_generation;
    DELETE FROM search_changes
        WHERE generation <= (SELECT value - 4096 FROM search_generation);
END;
CREATE TRIGGER search_gen_tracks_d AFTER DELETE ON tracks BEGIN
    UPDATE search_generation SET value = value + 1;
    INSERT INTO search_changes (generation, track_rowid)
        SELECT value, old.rowid FROM search_generation;
    DELETE FROM search_changes
        WHERE generation <= (SELECT value - 4096 FROM search_generation);
END;
CREATE TRIGGER search_gen_tracks_u AFTER UPDATE OF
    title, artist, album, album_artist, composer, genre, comment, file_name,
    state, duration_seconds, size_bytes
ON tracks BEGIN
    UPDATE search_generation SET value = value + 1;
    INSERT INTO search_changes (generation, track_rowid)
        SELECT value, new.rowid FROM search_generation;
    DELETE FROM search_changes
        WHERE generation <= (SELECT value - 4096 FROM search_generation);
END;
