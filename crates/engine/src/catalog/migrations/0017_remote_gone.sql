-- Packs remote GC has deleted (issue 15), as read from `gone/` records: this
-- device's knowledge of the remote, like remote_packs, so a snapshot for the
-- remote leaves it empty.
--
-- A push no longer lists every pack to learn which vanished; it reads the GC's
-- deletion records instead, as they come. An id here is never recorded as a
-- pack again, whatever index names it later (an index read late, or again by a
-- catalog restored from an older copy): a pack's id is random, so it is never
-- reused, and believing in a deleted pack would leave chunks off the remote.
-- IF NOT EXISTS: safe to run again, as 0014.
CREATE TABLE IF NOT EXISTS remote_gone_packs (
    id BLOB PRIMARY KEY
) WITHOUT ROWID;
