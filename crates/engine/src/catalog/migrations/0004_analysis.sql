-- Deep analysis (a full decode): waveform peaks and the same-audio fingerprint.
-- Keyed by the file's SHA-256: derived from content, so a copy never re-analyses.
-- The queue is implicit: tracks whose content has no row here (or an older
-- analyzer_version) are pending, so analysis resumes wherever it stopped.
CREATE TABLE analysis (
    sha256           BLOB PRIMARY KEY,
    analyzer_version INTEGER NOT NULL,
    analyzed_at      INTEGER NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('done', 'failed')),
    waveform         BLOB,            -- min,max pairs of i8
    fingerprint_kind TEXT,            -- 'decoded_pcm' | 'coded_packets'
    fingerprint      BLOB,            -- 32 bytes
    decoded_duration REAL,
    error            TEXT
) WITHOUT ROWID;
CREATE INDEX analysis_fingerprint ON analysis(fingerprint) WHERE fingerprint IS NOT NULL;
