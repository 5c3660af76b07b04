-- Analysis rows in a rowid table. As WITHOUT ROWID (0004) a row lives in an index
-- b-tree page, whose cells hold at most ~1 KB: every 2,000-byte waveform spilled
-- into an overflow page of its own, so reading a track's analysis took two page
-- reads and at 100k tracks the table was 100k overflow pages (catalog_bench). In a
-- rowid table's leaf a row may hold ~4 KB, so a row is one page read.
--
-- Same columns in the same order (a catalog snapshot and the merge copy rows by
-- them), the same uniqueness of sha256, so `ON CONFLICT (sha256)` upserts still hold.
CREATE TABLE analysis_rowid (
    sha256           BLOB NOT NULL UNIQUE,
    analyzer_version INTEGER NOT NULL,
    analyzed_at      INTEGER NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('done', 'failed')),
    waveform         BLOB,            -- min,max pairs of i8
    fingerprint_kind TEXT,            -- 'decoded_pcm' | 'coded_packets'
    fingerprint      BLOB,            -- 32 bytes
    decoded_duration REAL,
    error            TEXT
);
INSERT INTO analysis_rowid SELECT * FROM analysis;
DROP TABLE analysis;
ALTER TABLE analysis_rowid RENAME TO analysis;
CREATE INDEX analysis_fingerprint ON analysis(fingerprint) WHERE fingerprint IS NOT NULL;
-- Dropped with the old table (0006): an analysis still changes what a push sends.
CREATE TRIGGER sync_gen_analysis_i AFTER INSERT ON analysis BEGIN UPDATE sync_generation SET value = value + 1; END;
CREATE TRIGGER sync_gen_analysis_u AFTER UPDATE ON analysis BEGIN UPDATE sync_generation SET value = value + 1; END;
