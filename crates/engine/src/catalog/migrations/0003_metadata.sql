-- Technical metadata and tags, read from each file at import (media module).
-- Tracks are unique by SHA-256, so these columns are derived data keyed by content.
ALTER TABLE tracks ADD COLUMN container TEXT;
ALTER TABLE tracks ADD COLUMN codec TEXT;
ALTER TABLE tracks ADD COLUMN duration_seconds REAL;
ALTER TABLE tracks ADD COLUMN sample_rate INTEGER;
ALTER TABLE tracks ADD COLUMN bit_depth INTEGER;
ALTER TABLE tracks ADD COLUMN channels INTEGER;
ALTER TABLE tracks ADD COLUMN bitrate INTEGER;
ALTER TABLE tracks ADD COLUMN decodable INTEGER;
ALTER TABLE tracks ADD COLUMN title TEXT;
ALTER TABLE tracks ADD COLUMN artist TEXT;
ALTER TABLE tracks ADD COLUMN album TEXT;
ALTER TABLE tracks ADD COLUMN album_artist TEXT;
ALTER TABLE tracks ADD COLUMN track_number INTEGER;
ALTER TABLE tracks ADD COLUMN track_total INTEGER;
ALTER TABLE tracks ADD COLUMN disc_number INTEGER;
ALTER TABLE tracks ADD COLUMN disc_total INTEGER;
ALTER TABLE tracks ADD COLUMN year INTEGER;
ALTER TABLE tracks ADD COLUMN date TEXT;
ALTER TABLE tracks ADD COLUMN genre TEXT;
ALTER TABLE tracks ADD COLUMN composer TEXT;
ALTER TABLE tracks ADD COLUMN comment TEXT;
ALTER TABLE tracks ADD COLUMN metadata_error TEXT;
ALTER TABLE tracks ADD COLUMN artwork_id BLOB REFERENCES chunks(id);
ALTER TABLE tracks ADD COLUMN artwork_mime TEXT;
ALTER TABLE tracks ADD COLUMN artwork_size INTEGER;
-- The extractor version that filled these columns: `rescan` redoes older ones.
ALTER TABLE tracks ADD COLUMN metadata_version INTEGER NOT NULL DEFAULT 0;

-- Every other tag, key/value, in file order.
CREATE TABLE track_tags (
    track_id TEXT NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
    seq      INTEGER NOT NULL,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (track_id, seq)
) WITHOUT ROWID;

-- Sorting: every sortable column has an index led by state, ending in id, so a
-- page is an index range scan (keyset paging), never a sort of the whole table.
CREATE INDEX tracks_sort_title    ON tracks(state, ifnull(title, '') COLLATE NOCASE, id);
CREATE INDEX tracks_sort_artist   ON tracks(state, ifnull(artist, '') COLLATE NOCASE, id);
CREATE INDEX tracks_sort_album    ON tracks(state, ifnull(album, '') COLLATE NOCASE, id);
CREATE INDEX tracks_sort_duration ON tracks(state, ifnull(duration_seconds, 0), id);
CREATE INDEX tracks_sort_format   ON tracks(state, format, id);
CREATE INDEX tracks_sort_rate     ON tracks(state, ifnull(sample_rate, 0), id);
CREATE INDEX tracks_sort_size     ON tracks(state, size_bytes, id);
CREATE INDEX tracks_sort_year     ON tracks(state, ifnull(year, 0), id);
CREATE INDEX tracks_sort_name     ON tracks(state, file_name COLLATE NOCASE, id);

-- Full-text search over names and tags: prefix matching, case- and
-- diacritic-insensitive ('bjork' finds 'Björk').
CREATE VIRTUAL TABLE tracks_fts USING fts5(
    title, artist, album, album_artist, composer, genre, comment, file_name,
    content = 'tracks', content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3'
);
CREATE TRIGGER tracks_fts_insert AFTER INSERT ON tracks BEGIN
    INSERT INTO tracks_fts (rowid, title, artist, album, album_artist, composer, genre, comment, file_name)
    VALUES (new.rowid, new.title, new.artist, new.album, new.album_artist, new.composer, new.genre, new.comment, new.file_name);
END;
CREATE TRIGGER tracks_fts_delete AFTER DELETE ON tracks BEGIN
    INSERT INTO tracks_fts (tracks_fts, rowid, title, artist, album, album_artist, composer, genre, comment, file_name)
    VALUES ('delete', old.rowid, old.title, old.artist, old.album, old.album_artist, old.composer, old.genre, old.comment, old.file_name);
END;
CREATE TRIGGER tracks_fts_update AFTER UPDATE OF title, artist, album, album_artist, composer, genre, comment, file_name ON tracks BEGIN
    INSERT INTO tracks_fts (tracks_fts, rowid, title, artist, album, album_artist, composer, genre, comment, file_name)
    VALUES ('delete', old.rowid, old.title, old.artist, old.album, old.album_artist, old.composer, old.genre, old.comment, old.file_name);
    INSERT INTO tracks_fts (rowid, title, artist, album, album_artist, composer, genre, comment, file_name)
    VALUES (new.rowid, new.title, new.artist, new.album, new.album_artist, new.composer, new.genre, new.comment, new.file_name);
END;
-- Tracks imported before this migration become searchable by name at once.
INSERT INTO tracks_fts (tracks_fts) VALUES ('rebuild');
