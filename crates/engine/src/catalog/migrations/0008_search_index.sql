-- The search index, rebuilt for search-as-you-type at 100k tracks:
-- * prefix = '1 2 3 4 5 6': a word typed up to six letters is one lookup in a
--   prefix index. Past the indexed lengths FTS5 merges the doclists of every
--   term with that prefix on each query, which for a common word ('love' in most
--   of a library) cost several milliseconds every time a letter was typed.
-- * detail = column: the index records which columns hold a word, not where in
--   them. Searches are words ANDed across columns, never phrases or NEAR, so
--   positions were never read; without them the index is smaller than before even
--   with the three extra prefix lengths, and every doclist decodes faster.
-- The triggers from 0003 name the table, not its definition, so they keep
-- feeding the new one.
DROP TABLE tracks_fts;
CREATE VIRTUAL TABLE tracks_fts USING fts5(
    title, artist, album, album_artist, composer, genre, comment, file_name,
    content = 'tracks', content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3 4 5 6',
    detail = column
);
INSERT INTO tracks_fts (tracks_fts) VALUES ('rebuild');
