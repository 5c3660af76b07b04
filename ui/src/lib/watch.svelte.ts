// The watched folders as the app shows them: the folders and their states, this
// session's activity, the 'Not imported' list. Loaded once from `watch_status`,
// then kept current by the shell's `watch-update` events (src-tauri/src/watching).
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import { EVENTS } from "./bindings";
import type { FolderState, WatchActivity, WatchFailure, WatchFolder, WatchStatus, WatchUpdate, WatchedFolder } from "./bindings";

export const watchApi = {
  status: () => invoke<WatchStatus>("watch_status"),
  addFolder: (path: string) => invoke<WatchStatus>("watch_add_folder", { path }),
  updateFolder: (folder: WatchFolder) => invoke<WatchStatus>("watch_update_folder", { folder }),
  removeFolder: (path: string) => invoke<WatchStatus>("watch_remove_folder", { path }),
  failures: () => invoke<WatchFailure[]>("watch_failures"),
  clearFailures: () => invoke<number>("watch_clear_failures"),
};

/** Activity entries the view keeps. */
export const KEEP_ACTIVITY = 200;

export interface WatchView {
  running: boolean;
  /** Paused from the tray until resumed. */
  paused: boolean;
  error: string | null;
  folders: WatchedFolder[];
  activity: WatchActivity[];
  failures: number;
}

export function emptyView(): WatchView {
  return { running: false, paused: false, error: null, folders: [], activity: [], failures: 0 };
}

/**
 * The next view after an update. Returns "reload" when the update says the
 * stored folders changed (the caller asks the shell again).
 */
export function reduce(view: WatchView, u: WatchUpdate): WatchView | "reload" {
  switch (u.event) {
    case "folder":
      return {
        ...view,
        folders: view.folders.map((f) => (f.path === u.path && f.enabled ? { ...f, state: u.state, reason: u.reason } : f)),
      };
    case "activity": {
      if (view.activity.some((a) => a.id === u.entry.id)) return view;
      return {
        ...view,
        activity: [u.entry, ...view.activity].slice(0, KEEP_ACTIVITY),
        failures: view.failures + (u.entry.kind === "not_imported" ? 1 : 0),
      };
    }
    case "runner":
      return {
        ...view,
        running: u.running,
        error: u.error,
        folders: view.folders.map((f) => {
          if (!f.enabled) return f;
          if (u.running && f.state === "stopped") return { ...f, state: "starting" as FolderState, reason: null };
          if (!u.running) return { ...f, state: "stopped" as FolderState, reason: null };
          return f;
        }),
      };
    case "reload":
      return "reload";
  }
}

export const STATE_TEXT: Record<FolderState, string> = {
  watching: "Watching",
  polling: "Polling",
  unavailable: "Unavailable",
  stopped: "Stopped",
  off: "Off",
  starting: "Starting…",
};

/** The compact status for the main window: a word, a tone, and a longer title. */
export function indicator(view: WatchView): { text: string; tone: "ok" | "warn" | "bad" | "off"; detail: string } {
  const on = view.folders.filter((f) => f.enabled);
  if (view.folders.length === 0) return { text: "Watching: no folder", tone: "off", detail: "Add a watched folder in Settings" };
  if (on.length === 0) return { text: "Watching: off", tone: "off", detail: "Every watched folder is turned off" };
  if (view.paused) return { text: "Watching paused", tone: "warn", detail: "Paused from the tray icon: Resume watching there" };
  if (view.error) return { text: "Watcher stopped", tone: "bad", detail: view.error };
  const by = (s: FolderState) => on.filter((f) => f.state === s);
  const unavailable = by("unavailable");
  const polling = by("polling");
  const watching = by("watching");
  const detail = on.map((f) => `${f.path}: ${STATE_TEXT[f.state]}${f.reason ? ` (${f.reason})` : ""}`).join("\n");
  if (unavailable.length)
    return { text: unavailable.length === on.length ? "Watched folder unavailable" : `${unavailable.length} of ${on.length} folders unavailable`, tone: "bad", detail };
  if (polling.length) return { text: `Polling ${plural(polling.length + watching.length, "folder")}`, tone: "warn", detail };
  if (watching.length === on.length) return { text: `Watching ${plural(on.length, "folder")}`, tone: "ok", detail };
  return { text: "Watcher starting…", tone: "off", detail };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** The app-wide store: one per window, started by the main view. */
export class WatchStore {
  view = $state<WatchView>(emptyView());
  failures = $state<WatchFailure[]>([]);
  loadError = $state<string | null>(null);
  private unlisten: UnlistenFn | null = null;
  private users = 0;
  /** Updates that arrived while a status was on its way: replayed over it. */
  private pending: WatchUpdate[] | null = null;

  async start(): Promise<void> {
    this.users += 1;
    if (this.users > 1) return;
    this.unlisten = await listen<WatchUpdate>(EVENTS.watchUpdate, (e) => this.apply(e.payload));
    await this.load();
  }

  stop(): void {
    this.users = Math.max(0, this.users - 1);
    if (this.users > 0) return;
    this.unlisten?.();
    this.unlisten = null;
    this.view = emptyView();
    this.failures = [];
  }

  apply(u: WatchUpdate): void {
    if (this.pending && u.event !== "reload") this.pending.push(u);
    const next = reduce(this.view, u);
    if (next === "reload") {
      void this.load();
      return;
    }
    const grew = next.failures !== this.view.failures;
    this.view = next;
    if (grew) void this.loadFailures();
  }

  /** Takes the shell's answer to a change (add, update, remove) as the view. */
  show(s: WatchStatus): void {
    this.view = { running: s.running, paused: s.paused, error: s.error, folders: s.folders, activity: s.activity.slice(0, KEEP_ACTIVITY), failures: Number(s.failures) };
  }

  async load(): Promise<void> {
    // The status may have been taken before or after an update that arrives
    // meanwhile; replaying those updates over it (each is idempotent) ends in
    // the newest state either way.
    const pending: WatchUpdate[] = [];
    this.pending = pending;
    try {
      const status = await watchApi.status();
      if (this.pending === pending) this.pending = null;
      this.show(status);
      for (const u of pending) {
        const next = reduce(this.view, u);
        if (next !== "reload") this.view = next;
      }
      this.loadError = null;
      await this.loadFailures();
    } catch (e) {
      if (this.pending === pending) this.pending = null;
      this.loadError = e && typeof e === "object" && "message" in e ? String((e as { message: unknown }).message) : String(e);
    }
  }

  async loadFailures(): Promise<void> {
    try {
      this.failures = await watchApi.failures();
      if (this.failures.length !== this.view.failures) this.view = { ...this.view, failures: this.failures.length };
    } catch {
      /* the list keeps what it had */
    }
  }
}

export const watchStore = new WatchStore();
