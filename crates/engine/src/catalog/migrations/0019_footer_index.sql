-- The library footer's columns in an index: what a search's footer adds up for
-- every track (state, duration, size; the match cache's per-track facts) is read
-- in one pass over this index instead of over the whole table. SQLCipher
-- decrypts and authenticates each page a connection reads, so a scan costs its
-- pages: at 100,000 synthetic tracks the table is tens of MiB, this index a few
-- (see ARCHITECTURE.md, search as you type).
--
-- It replaces 0001's index on size alone (the import's size pre-check, which
-- this one serves as well, by its first column). `state` goes last, not first:
-- an index that starts with it offers every `state = ?` search a way in, and
-- SQLite took it over the sort indexes for the first page, sorting every track.
DROP INDEX IF EXISTS tracks_size;
CREATE INDEX IF NOT EXISTS tracks_size_footer ON tracks(size_bytes, duration_seconds, state);
