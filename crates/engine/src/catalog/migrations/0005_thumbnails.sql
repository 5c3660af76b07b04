-- Cover-art thumbnails for lists, one per distinct picture (keyed by the
-- artwork chunk, so tracks sharing a cover share its thumbnail). Small JPEGs
-- kept in the catalog so a list never decrypts and decodes full-size art.
CREATE TABLE thumbnails (
    artwork_id BLOB PRIMARY KEY,
    mime_type  TEXT NOT NULL,
    width      INTEGER NOT NULL,
    height     INTEGER NOT NULL,
    data       BLOB NOT NULL
) WITHOUT ROWID;
