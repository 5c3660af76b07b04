//! What happened: the import jobs with their per-file results, read back for
//! `audiovault jobs` and the app's Imports view (the activity log is `recent_activity`).

use rusqlite::{OptionalExtension, params};

use super::{Catalog, CatalogError};

/// An `import_jobs` row as stored (the source and status as their names).
pub struct ImportJobRow {
    pub id: i64,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub status: String,
    pub source: String,
    pub files_total: i64,
    pub imported: i64,
    pub duplicates: i64,
    pub rejected: i64,
    pub failed: i64,
}

/// One file of a job, in the order the job took them.
pub struct ImportJobItemRow {
    pub path: String,
    pub outcome: String,
    pub reason: Option<String>,
    pub track_id: Option<String>,
}

const JOB_COLUMNS: &str = "id, started_at, finished_at, status, source, files_total, imported, duplicates, rejected, failed";

fn job_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ImportJobRow> {
    Ok(ImportJobRow {
        id: r.get("id")?,
        started_at: r.get("started_at")?,
        finished_at: r.get("finished_at")?,
        status: r.get("status")?,
        source: r.get("source")?,
        files_total: r.get("files_total")?,
        imported: r.get("imported")?,
        duplicates: r.get("duplicates")?,
        rejected: r.get("rejected")?,
        failed: r.get("failed")?,
    })
}

impl Catalog {
    /// The newest import jobs first.
    pub fn import_jobs(&self, limit: u32) -> Result<Vec<ImportJobRow>, CatalogError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {JOB_COLUMNS} FROM import_jobs ORDER BY id DESC LIMIT ?1"
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([limit], job_row).map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// One job and its files; `None` when there is no such job.
    pub fn import_job(
        &self,
        id: i64,
    ) -> Result<Option<(ImportJobRow, Vec<ImportJobItemRow>)>, CatalogError> {
        let Some(job) = self
            .conn
            .query_row(
                &format!("SELECT {JOB_COLUMNS} FROM import_jobs WHERE id = ?1"),
                [id],
                job_row,
            )
            .optional()
            .map_err(|e| self.err(e))?
        else {
            return Ok(None);
        };
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT path, outcome, reason, track_id FROM import_job_items
                 WHERE job_id = ?1 ORDER BY seq",
            )
            .map_err(|e| self.err(e))?;
        let items = stmt
            .query_map(params![id], |r| {
                Ok(ImportJobItemRow {
                    path: r.get("path")?,
                    outcome: r.get("outcome")?,
                    reason: r.get("reason")?,
                    track_id: r.get("track_id")?,
                })
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(Some((job, items)))
    }
}
