-- Sealed records (see records.rs): the vault folder alone describes the library.
-- Every change to what a record holds marks it here, inside the writing
-- transaction, and the same transaction writes the marked records to records/
-- (durably) before it commits and clears the marks. A mark that survives a commit
-- (a crash between a path's commit and its records, or a writer that does not
-- seal) is written when the vault next opens.
--
-- Device-local: a catalog snapshot carries no marks.
--
-- The triggers test for a mark instead of writing INSERT OR IGNORE: inside a
-- trigger, SQLite applies the conflict policy of the statement that fired it (an
-- upsert's ON CONFLICT, an INSERT OR REPLACE) in place of the trigger's own.
CREATE TABLE record_dirty (
    kind TEXT NOT NULL CHECK (kind IN ('track', 'tombstones', 'settings')),
    key  TEXT NOT NULL,                    -- the track id; '' for the whole-file records
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;

-- A track's record: its row, chunk list, tags and its content's adds.
CREATE TRIGGER record_dirty_tracks_i AFTER INSERT ON tracks BEGIN
    INSERT INTO record_dirty (kind, key) SELECT 'track', new.id
        WHERE NOT EXISTS (SELECT 1 FROM record_dirty WHERE kind = 'track' AND key = new.id);
END;
CREATE TRIGGER record_dirty_tracks_u AFTER UPDATE ON tracks BEGIN
    INSERT INTO record_dirty (kind, key) SELECT 'track', old.id
        WHERE NOT EXISTS (SELECT 1 FROM record_dirty WHERE kind = 'track' AND key = old.id);
    INSERT INTO record_dirty (kind, key) SELECT 'track', new.id
        WHERE NOT EXISTS (SELECT 1 FROM record_dirty WHERE kind = 'track' AND key = new.id);
END;
CREATE TRIGGER record_dirty_tracks_d AFTER DELETE ON tracks BEGIN
    INSERT INTO record_dirty (kind, key) SELECT 'track', old.id
        WHERE NOT EXISTS (SELECT 1 FROM record_dirty WHERE kind = 'track' AND key = old.id);
END;
CREATE TRIGGER record_dirty_tags_i AFTER INSERT ON track_tags BEGIN
    INSERT INTO record_dirty (kind, key) SELECT 'track', new.track_id
        WHERE NOT EXISTS (SELECT 1 FROM record_dirty WHERE kind = 'track' AND key = new.track_id);
END;
CREATE TRIGGER record_dirty_tags_u AFTER UPDATE ON track_tags BEGIN
    INSERT INTO record_dirty (kind, key) SELECT 'track', old.track_id
        WHERE NOT EXISTS (SELECT 1 FROM record_dirty WHERE kind = 'track' AND key = old.track_id);
    INSERT INTO record_dirty (kind, key) SELECT 'track', new.track_id
        WHERE NOT EXISTS (SELECT 1 FROM record_dirty WHERE kind = 'track' AND key = new.track_id);
END;
CREATE TRIGGER record_dirty_tags_d AFTER DELETE ON track_tags BEGIN
    INSERT INTO record_dirty (kind, key) SELECT 'track', old.track_id
        WHERE NOT EXISTS (SELECT 1 FROM record_dirty WHERE kind = 'track' AND key = old.track_id);
END;
CREATE TRIGGER record_dirty_track_chunks_i AFTER INSERT ON track_chunks BEGIN
    INSERT INTO record_dirty (kind, key) SELECT 'track', new.track_id
        WHERE NOT EXISTS (SELECT 1 FROM record_dirty WHERE kind = 'track' AND key = new.track_id);
END;
CREATE TRIGGER record_dirty_track_chunks_u AFTER UPDATE ON track_chunks BEGIN
    INSERT INTO record_dirty (kind, key) SELECT 'track', old.track_id
        WHERE NOT EXISTS (SELECT 1 FROM record_dirty WHERE kind = 'track' AND key = old.track_id);
    INSERT INTO record_dirty (kind, key) SELECT 'track', new.track_id
        WHERE NOT EXISTS (SELECT 1 FROM record_dirty WHERE kind = 'track' AND key = new.track_id);
END;
CREATE TRIGGER record_dirty_track_chunks_d AFTER DELETE ON track_chunks BEGIN
    INSERT INTO record_dirty (kind, key) SELECT 'track', old.track_id
        WHERE NOT EXISTS (SELECT 1 FROM record_dirty WHERE kind = 'track' AND key = old.track_id);
END;

-- records/tombstones: every tombstone and the adds of contents without a track,
-- rewritten whole.
CREATE TRIGGER record_dirty_tombstones_i AFTER INSERT ON tombstones BEGIN
    INSERT INTO record_dirty (kind, key) SELECT 'tombstones', ''
        WHERE NOT EXISTS (SELECT 1 FROM record_dirty WHERE kind = 'tombstones' AND key = '');
END;
CREATE TRIGGER record_dirty_tombstones_u AFTER UPDATE ON tombstones BEGIN
    INSERT INTO record_dirty (kind, key) SELECT 'tombstones', ''
        WHERE NOT EXISTS (SELECT 1 FROM record_dirty WHERE kind = 'tombstones' AND key = '');
END;
CREATE TRIGGER record_dirty_tombstones_d AFTER DELETE ON tombstones BEGIN
    INSERT INTO record_dirty (kind, key) SELECT 'tombstones', ''
        WHERE NOT EXISTS (SELECT 1 FROM record_dirty WHERE kind = 'tombstones' AND key = '');
END;

-- A content's adds (0010) travel with its track's record while it has a track, and
-- with records/tombstones once it has none (purged here or elsewhere, or not fetched
-- yet): a rebuilt catalog keeps every purge, so no older copy brings a track back.
CREATE TRIGGER record_dirty_adds_i AFTER INSERT ON content_adds BEGIN
    INSERT INTO record_dirty (kind, key) SELECT 'track', t.id FROM tracks t
        WHERE t.sha256 = new.sha256
          AND NOT EXISTS (SELECT 1 FROM record_dirty WHERE kind = 'track' AND key = t.id);
    INSERT INTO record_dirty (kind, key) SELECT 'tombstones', ''
        WHERE NOT EXISTS (SELECT 1 FROM tracks WHERE sha256 = new.sha256)
          AND NOT EXISTS (SELECT 1 FROM record_dirty WHERE kind = 'tombstones' AND key = '');
END;
CREATE TRIGGER record_dirty_adds_u AFTER UPDATE ON content_adds BEGIN
    INSERT INTO record_dirty (kind, key) SELECT 'track', t.id FROM tracks t
        WHERE t.sha256 = new.sha256
          AND NOT EXISTS (SELECT 1 FROM record_dirty WHERE kind = 'track' AND key = t.id);
    INSERT INTO record_dirty (kind, key) SELECT 'tombstones', ''
        WHERE NOT EXISTS (SELECT 1 FROM tracks WHERE sha256 = new.sha256)
          AND NOT EXISTS (SELECT 1 FROM record_dirty WHERE kind = 'tombstones' AND key = '');
END;
CREATE TRIGGER record_dirty_adds_d AFTER DELETE ON content_adds BEGIN
    INSERT INTO record_dirty (kind, key) SELECT 'track', t.id FROM tracks t
        WHERE t.sha256 = old.sha256
          AND NOT EXISTS (SELECT 1 FROM record_dirty WHERE kind = 'track' AND key = t.id);
    INSERT INTO record_dirty (kind, key) SELECT 'tombstones', ''
        WHERE NOT EXISTS (SELECT 1 FROM tracks WHERE sha256 = old.sha256)
          AND NOT EXISTS (SELECT 1 FROM record_dirty WHERE kind = 'tombstones' AND key = '');
END;

-- records/settings: the settings, the remote's row and the watched folders.
CREATE TRIGGER record_dirty_settings_i AFTER INSERT ON settings BEGIN
    INSERT INTO record_dirty (kind, key) SELECT 'settings', ''
        WHERE NOT EXISTS (SELECT 1 FROM record_dirty WHERE kind = 'settings' AND key = '');
END;
CREATE TRIGGER record_dirty_settings_u AFTER UPDATE ON settings BEGIN
    INSERT INTO record_dirty (kind, key) SELECT 'settings', ''
        WHERE NOT EXISTS (SELECT 1 FROM record_dirty WHERE kind = 'settings' AND key = '');
END;
CREATE TRIGGER record_dirty_settings_d AFTER DELETE ON settings BEGIN
    INSERT INTO record_dirty (kind, key) SELECT 'settings', ''
        WHERE NOT EXISTS (SELECT 1 FROM record_dirty WHERE kind = 'settings' AND key = '');
END;
CREATE TRIGGER record_dirty_remote_config_i AFTER INSERT ON remote_config BEGIN
    INSERT INTO record_dirty (kind, key) SELECT 'settings', ''
        WHERE NOT EXISTS (SELECT 1 FROM record_dirty WHERE kind = 'settings' AND key = '');
END;
CREATE TRIGGER record_dirty_remote_config_u AFTER UPDATE ON remote_config BEGIN
    INSERT INTO record_dirty (kind, key) SELECT 'settings', ''
        WHERE NOT EXISTS (SELECT 1 FROM record_dirty WHERE kind = 'settings' AND key = '');
END;
CREATE TRIGGER record_dirty_remote_config_d AFTER DELETE ON remote_config BEGIN
    INSERT INTO record_dirty (kind, key) SELECT 'settings', ''
        WHERE NOT EXISTS (SELECT 1 FROM record_dirty WHERE kind = 'settings' AND key = '');
END;
CREATE TRIGGER record_dirty_watch_folders_i AFTER INSERT ON watch_folders BEGIN
    INSERT INTO record_dirty (kind, key) SELECT 'settings', ''
        WHERE NOT EXISTS (SELECT 1 FROM record_dirty WHERE kind = 'settings' AND key = '');
END;
CREATE TRIGGER record_dirty_watch_folders_u AFTER UPDATE ON watch_folders BEGIN
    INSERT INTO record_dirty (kind, key) SELECT 'settings', ''
        WHERE NOT EXISTS (SELECT 1 FROM record_dirty WHERE kind = 'settings' AND key = '');
END;
CREATE TRIGGER record_dirty_watch_folders_d AFTER DELETE ON watch_folders BEGIN
    INSERT INTO record_dirty (kind, key) SELECT 'settings', ''
        WHERE NOT EXISTS (SELECT 1 FROM record_dirty WHERE kind = 'settings' AND key = '');
END;

-- A vault made before records: every record is written on the first open with
-- this version, in batches that survive an interruption (the marks are the queue).
INSERT OR IGNORE INTO record_dirty (kind, key) SELECT 'track', id FROM tracks;
INSERT OR IGNORE INTO record_dirty (kind, key) VALUES ('tombstones', ''), ('settings', '');
