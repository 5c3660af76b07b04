// One running batch (import, export, verify) as the tray shows it, built from
// the shell's progress events.
import type { ImportReport, ProgressEvent } from "./api";
import { FileList, baseName } from "./filelist";

export { baseName };

export interface ItemRow {
  path: string;
  name: string;
  state: "working" | "ok" | "failed";
}

/** Rows kept for the tray; older finished rows scroll away. */
const KEEP = 300;

export class Batch {
  title = $state("");
  items = $state(0);
  bytes = $state(0);
  done = $state(0);
  finished = $state(0);
  failed = $state(0);
  rows = $state.raw<ItemRow[]>([]);
  running = $state(true);
  startedAt: number;
  /** Per-file states of an import (empty for export and verify). */
  files = new FileList();
  /** Follows `files.version`, so views redraw when a file changes. */
  filesVersion = $state(0);

  constructor(title: string, now = Date.now()) {
    this.title = title;
    this.startedAt = now;
  }

  apply(e: ProgressEvent): void {
    switch (e.event) {
      case "start":
        this.items = e.items;
        this.bytes = e.bytes;
        break;
      case "item":
        if (this.files.size) {
          this.files.start(e.path);
          this.filesVersion = this.files.version;
        }
        this.rows = [...this.rows, { path: e.path, name: baseName(e.path), state: "working" as const }].slice(-KEEP);
        break;
      case "bytes":
        this.done = Math.max(this.done, e.done);
        break;
      case "queued":
        this.files.queue(e.paths);
        this.filesVersion = this.files.version;
        break;
      case "finished": {
        if (e.outcome) {
          this.files.finish(e.path, e.ok, e.outcome, e.reason);
          this.filesVersion = this.files.version;
        }
        this.finished += 1;
        if (!e.ok) this.failed += 1;
        this.done = Math.max(this.done, e.done);
        const i = this.rows.findLastIndex((r) => r.path === e.path && r.state === "working");
        const state = e.ok ? ("ok" as const) : ("failed" as const);
        if (i >= 0) {
          const rows = this.rows.slice();
          rows[i] = { ...rows[i], state };
          this.rows = rows;
        } else {
          this.rows = [...this.rows, { path: e.path, name: baseName(e.path), state }].slice(-KEEP);
        }
        break;
      }
    }
  }

  /** The import's report: every file's final outcome. */
  settle(report: ImportReport): void {
    this.files.settle(report);
    this.filesVersion = this.files.version;
  }

  /** 0..1 by bytes when sizes are known, else by items. */
  get fraction(): number {
    if (this.bytes > 0) return Math.min(1, this.done / this.bytes);
    if (this.items > 0) return Math.min(1, this.finished / this.items);
    return 0;
  }

  /** Bytes per second so far. */
  rate(now = Date.now()): number {
    const s = (now - this.startedAt) / 1000;
    return s > 0 ? this.done / s : 0;
  }
}
