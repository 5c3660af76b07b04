// The Imports view's rules: how a job is summed up, what "Retry failed" retries,
// and how a source is named. Pure functions, so Vitest checks them.
import type { ImportJob, ImportJobItem, ImportSource, LogKind } from "./api";

export function sourceLabel(source: ImportSource): string {
  switch (source) {
    case "cli":
      return "Command line";
    case "app":
      return "Drop or Add files";
    case "watch":
      return "Watched folder";
  }
}

/** "12 imported, 3 duplicates, 1 not imported" — only the counts that are not zero. */
export function jobSummary(job: ImportJob): string {
  const parts: string[] = [];
  if (job.imported) parts.push(`${job.imported} imported`);
  if (job.duplicates) parts.push(`${job.duplicates} duplicate${job.duplicates === 1 ? "" : "s"}`);
  const notImported = job.rejected + job.failed;
  if (notImported) parts.push(`${notImported} not imported`);
  if (parts.length === 0) parts.push(job.status === "running" ? "running" : "no files");
  return parts.join(", ");
}

/**
 * The files "Retry failed" imports again: those not imported (rejected or failed),
 * each once, in the job's order.
 */
export function retryPaths(items: ImportJobItem[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const i of items) {
    if ((i.outcome === "rejected" || i.outcome === "failed") && !seen.has(i.path)) {
      seen.add(i.path);
      out.push(i.path);
    }
  }
  return out;
}

/** The log's filter choices, in the order the menu shows them. */
export const LOG_KINDS: { kind: LogKind | null; label: string }[] = [
  { kind: null, label: "Everything" },
  { kind: "import", label: "Imports" },
  { kind: "watch", label: "Watched folders" },
  { kind: "trash", label: "Trash and restore" },
  { kind: "export", label: "Exports" },
  { kind: "verify", label: "Verifies" },
  { kind: "sync", label: "Sync" },
  { kind: "gc", label: "Clean-ups" },
  { kind: "settings", label: "Settings" },
];

/** "Keep this one": the other tracks of its group, which go to the Trash. */
export function othersThan<T extends { id: string }>(tracks: T[], keep: string): string[] {
  return tracks.filter((t) => t.id !== keep).map((t) => t.id);
}
