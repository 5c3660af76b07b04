-- How a track's stored chunk turns back into the file's bytes (chunker version 2):
-- NULL for a chunk stored as the file's bytes; else a kind byte and its parameters
-- (1: Ogg pages, the sequence number base as 4 bytes little-endian). See
-- store::ogg_pages. An older Audiovault refuses this catalog (a newer migration),
-- so no version ever reads a transformed chunk as plain bytes.
ALTER TABLE track_chunks ADD COLUMN transform BLOB;
