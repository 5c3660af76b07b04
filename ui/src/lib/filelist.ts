// The per-file list of an import: every file the scan found, with its state
// (queued → importing → imported / duplicate / rejected / failed, or cancelled
// when the import stopped before it). Plain data and a Map from path to row,
// so an event costs O(1) even for tens of thousands of files; the view reads
// `rows` through a virtual list and re-renders on `version`.
import type { ImportReport, Outcome } from "./bindings";

export type FileState = "queued" | "importing" | Outcome | "cancelled";

export interface FileRow {
  path: string;
  name: string;
  state: FileState;
  reason: string | null;
}

export const FILE_STATES: FileState[] = ["queued", "importing", "imported", "duplicate", "rejected", "failed", "cancelled"];

export const STATE_LABELS: Record<FileState, string> = {
  queued: "Queued",
  importing: "Importing",
  imported: "Imported",
  duplicate: "Already in the vault",
  rejected: "Rejected",
  failed: "Failed",
  cancelled: "Not imported (cancelled)",
};

/** Rows kept at most: beyond it, finished good rows make way (problems stay). */
export const MAX_ROWS = 100_000;

export function baseName(path: string): string {
  const parts = path.split(/[\\/]/).filter(Boolean);
  return parts.length ? parts[parts.length - 1] : path;
}

export class FileList {
  rows: FileRow[] = [];
  private index = new Map<string, number>();
  counts: Record<FileState, number> = { queued: 0, importing: 0, imported: 0, duplicate: 0, rejected: 0, failed: 0, cancelled: 0 };
  /** Bumped on every change (the view's signal to redraw). */
  version = 0;

  get size(): number {
    return this.rows.length;
  }

  private add(path: string, state: FileState, reason: string | null = null): FileRow {
    if (this.rows.length >= MAX_ROWS) this.compact();
    const row = { path, name: baseName(path), state, reason };
    this.index.set(path, this.rows.length);
    this.rows.push(row);
    this.counts[state] += 1;
    return row;
  }

  /** Drops the oldest imported/duplicate rows to stay under MAX_ROWS. */
  private compact(): void {
    let drop = Math.ceil(MAX_ROWS / 10);
    this.rows = this.rows.filter((r) => {
      if (drop > 0 && (r.state === "imported" || r.state === "duplicate")) {
        drop -= 1;
        this.counts[r.state] -= 1;
        return false;
      }
      return true;
    });
    this.index = new Map(this.rows.map((r, i) => [r.path, i]));
  }

  private set(path: string, state: FileState, reason: string | null = null): void {
    const i = this.index.get(path);
    if (i === undefined) {
      this.add(path, state, reason);
    } else {
      const row = this.rows[i];
      this.counts[row.state] -= 1;
      this.counts[state] += 1;
      this.rows[i] = { ...row, state, reason };
    }
    this.version += 1;
  }

  queue(paths: string[]): void {
    for (const p of paths) if (!this.index.has(p)) this.add(p, "queued");
    this.version += 1;
  }

  start(path: string): void {
    this.set(path, "importing");
  }

  /** A file is done; without an outcome (older events) `ok` says imported or failed. */
  finish(path: string, ok: boolean, outcome: Outcome | null, reason: string | null): void {
    this.set(path, outcome ?? (ok ? "imported" : "failed"), reason);
  }

  /** The final report is the truth: every file's outcome; files never taken up were cancelled. */
  settle(report: ImportReport): void {
    for (const f of report.files) this.set(f.path, f.outcome, f.reason);
    for (const r of this.rows) if (r.state === "queued" || r.state === "importing") this.set(r.path, "cancelled");
  }

  /** The rows a view shows: all, or only those that were not imported. */
  visible(problemsOnly: boolean): FileRow[] {
    return problemsOnly ? this.rows.filter((r) => r.state === "rejected" || r.state === "failed" || r.state === "cancelled") : this.rows;
  }
}
