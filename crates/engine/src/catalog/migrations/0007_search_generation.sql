-- A counter bumped by every change to what a cached text search or footer
-- depends on: the searchable text of tracks, their state, duration and size, and
-- which tracks exist. Cached search results then survive the writes that cannot
-- change them (waveforms and analysis, the activity log, settings, sync state),
-- which run often while the app is open; another connection's commit is seen too,
-- since the counter lives in the database.
CREATE TABLE search_generation (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO search_generation (id, value) VALUES (1, 1);

CREATE TRIGGER search_gen_tracks_i AFTER INSERT ON tracks BEGIN
    UPDATE search_generation SET value = value + 1;
END;
CREATE TRIGGER search_gen_tracks_d AFTER DELETE ON tracks BEGIN
    UPDATE search_generation SET value = value + 1;
END;
CREATE TRIGGER search_gen_tracks_u AFTER UPDATE OF
    title, artist, album, album_artist, composer, genre, comment, file_name,
    state, duration_seconds, size_bytes
ON tracks BEGIN
    UPDATE search_generation SET value = value + 1;
END;
