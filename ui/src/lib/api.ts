// Typed wrappers over the shell's IPC commands (src-tauri/src/commands.rs). The
// types come from ./bindings.ts, generated from the shell's Rust DTOs
// (src-tauri/src/dto.rs); a Rust test fails when that file is stale.
import { Channel, invoke } from "@tauri-apps/api/core";
import type {
  AlbumSummary,
  AnalysisProgress,
  ArtistSummary,
  AutoSyncStatus,
  ConnectionReport,
  DoctorReport,
  Recovery,
  PullReport,
  PushReport,
  RemoteDevices,
  RemoteForm,
  RemoteSettings,
  RepairOutcome,
  EvictReport,
  KeepReport,
  LocationTotals,
  RestoreForm,
  RestoreReport,
  SyncStatus,
  SettingKey,
  AppSettings,
  DesktopSettingsChange,
  About,
  DuplicatesReport,
  Activity,
  ImportJob,
  ImportJobDetails,
  LogKind,
  Strength,
  ExportReport,
  ImportReport,
  IpcError,
  ProgressEvent,
  PurgeReport,
  SearchPage,
  SearchQuery,
  FirstPage,
  Settings,
  Stats,
  Status,
  Stream,
  Track,
  TrackDetails,
  VerifyReport,
  Waveform,
} from "./bindings";

export type * from "./bindings";
export { EVENTS, SETTLE_RANGE_SECONDS } from "./bindings";

export function isIpcError(e: unknown): e is IpcError {
  return typeof e === "object" && e !== null && "kind" in e && "message" in e;
}

export function errorMessage(e: unknown): string {
  if (isIpcError(e)) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

function channel(onEvent: (e: ProgressEvent) => void): Channel<ProgressEvent> {
  const ch = new Channel<ProgressEvent>();
  ch.onmessage = onEvent;
  return ch;
}

export const api = {
  startup: () => invoke<Status>("startup"),
  status: () => invoke<Status>("status_of"),
  chooseVault: (dir: string) => invoke<Status>("choose_vault", { dir }),
  createVault: (dir: string, passphrase: string, rememberKey: boolean) =>
    invoke<Status>("create_vault", { dir, passphrase, rememberKey }),
  unlock: (passphrase: string, rememberKey: boolean) =>
    invoke<Status>("unlock", { passphrase, rememberKey }),
  lock: () => invoke<Status>("lock"),
  search: (query: SearchQuery) => invoke<SearchPage>("search", { query }),
  searchFirstPage: (query: SearchQuery) => invoke<FirstPage>("search_first_page", { query }),
  trackDetails: (id: string) => invoke<TrackDetails>("track_details", { id }),
  artwork: (id: string) => invoke<string | null>("artwork", { id }),
  thumbnail: (id: string) => invoke<string | null>("thumbnail", { id }),
  streamUrl: (id: string) => invoke<Stream>("stream_url", { id }),
  import: (paths: string[], onEvent: (e: ProgressEvent) => void) =>
    invoke<ImportReport>("import", { paths, onProgress: channel(onEvent) }),
  export: (ids: string[], dest: string, onEvent: (e: ProgressEvent) => void) =>
    invoke<ExportReport>("export", { ids, dest, onProgress: channel(onEvent) }),
  verify: (onEvent: (e: ProgressEvent) => void) => invoke<VerifyReport>("verify", { onProgress: channel(onEvent) }),
  cancel: () => invoke<void>("cancel"),
  setTrashed: (ids: string[], trashed: boolean) => invoke<number>("set_trashed", { ids, trashed }),
  purgeTrash: () => invoke<PurgeReport>("purge_trash"),
  stats: () => invoke<Stats>("stats"),
  waveform: (id: string) => invoke<Waveform>("waveform", { id }),
  analysisProgress: () => invoke<AnalysisProgress>("analysis_progress"),
  changePassphrase: (current: string, next: string) => invoke<void>("change_passphrase", { current, new: next }),
  settings: () => invoke<Settings>("settings"),
  setSetting: (key: SettingKey, value: string) => invoke<Settings>("set_setting", { key, value }),
  albums: () => invoke<AlbumSummary[]>("albums"),
  artists: () => invoke<ArtistSummary[]>("artists"),
  /** One album's tracks (album and its artist as listed), or with album null one artist's. */
  groupTracks: (album: string | null, artist: string) => invoke<Track[]>("group_tracks", { album, artist }),
  /** The engine's estimate of a passphrase (zxcvbn): the strength meter's only source. */
  passphraseStrength: (passphrase: string) => invoke<Strength>("passphrase_strength", { passphrase }),
  /** This device's app settings (idle lock, tray, notifications, start at login). */
  appSettings: () => invoke<AppSettings>("app_settings"),
  setAutoLock: (seconds: number) => invoke<AppSettings>("set_auto_lock", { seconds }),
  /** The tray, notification and start-at-login settings (null leaves one as it is). */
  setDesktopSettings: (change: DesktopSettingsChange) => invoke<AppSettings>("set_desktop_settings", { change }),
  /** The file manager: this file selected in its folder, or (select false) this folder opened. */
  showInFileManager: (path: string, select: boolean) => invoke<void>("show_in_file_manager", { path, select }),
  /** Input in the window, or audio playing: the idle clock starts again. */
  activity: () => invoke<void>("activity"),
  /** The version and licence (the About dialog). */
  about: () => invoke<About>("about"),
  /** Files the desktop handed the app ("Open with", a second launch), each once. */
  takeOpenedFiles: () => invoke<string[]>("take_opened_files"),
  /** The newest import jobs (the Imports view). */
  importJobs: (limit: number) => invoke<ImportJob[]>("import_jobs", { limit }),
  /** One import job with its files and their outcomes. */
  importJob: (id: number) => invoke<ImportJobDetails>("import_job", { id }),
  /** The activity log, newest first, optionally of one kind. */
  activityLog: (limit: number, kind: LogKind | null) => invoke<Activity[]>("activity_log", { limit, kind }),
  /** Exact copies and same-audio groups (analyses what is still waiting first). */
  duplicates: () => invoke<DuplicatesReport>("duplicates"),
  /** The native folder dialog, asked from the shell (automation can answer it). */
  pickFolder: (title: string) => invoke<string | null>("pick_folder", { title }),
  // Cloud sync (src-tauri/src/cloud.rs). A secret only ever goes to the shell.
  remoteSettings: () => invoke<RemoteSettings>("remote_settings"),
  setRemote: (form: RemoteForm) => invoke<RemoteSettings>("set_remote", { form }),
  testConnection: () => invoke<ConnectionReport>("test_connection"),
  syncStatus: () => invoke<SyncStatus>("sync_status"),
  /** The devices on the remote; with `incoming`, what a pull would bring from each (slower: fetches their catalogs). */
  remoteDevices: (incoming: boolean) => invoke<RemoteDevices>("remote_devices", { incoming }),
  push: (onEvent: (e: ProgressEvent) => void) => invoke<PushReport>("push", { onProgress: channel(onEvent) }),
  pull: (onEvent: (e: ProgressEvent) => void) => invoke<PullReport>("pull", { onProgress: channel(onEvent) }),
  cancelSync: () => invoke<void>("cancel_sync"),
  /** What automatic sync is doing (also sent as the `auto-sync` event). */
  autoSyncStatus: () => invoke<AutoSyncStatus>("auto_sync_status"),
  restoreFromCloud: (form: RestoreForm, onEvent: (e: ProgressEvent) => void) =>
    invoke<RestoreReport>("restore_from_cloud", { form, onProgress: channel(onEvent) }),
  repair: (onEvent: (e: ProgressEvent) => void) => invoke<RepairOutcome>("repair", { onProgress: channel(onEvent) }),
  // Cloud-only tracks (src-tauri/src/cloud/space.rs).
  /** Deletes this device's copy of these tracks once the remote is seen to hold them. */
  freeUpSpace: (ids: string[]) => invoke<EvictReport>("free_up_space", { ids }),
  /** Fetches cloud-only tracks back onto this device. */
  keepOnDevice: (ids: string[]) => invoke<KeepReport>("keep_on_device", { ids }),
  /** Tracks per location and the space eviction freed (the Storage view). */
  locationTotals: () => invoke<LocationTotals>("location_totals"),
  // Health (src-tauri/src/health.rs): the engine's doctor.
  /** Checks the open vault; changes nothing. */
  doctor: () => invoke<DoctorReport>("doctor"),
  /** Stops a running check or repair. */
  cancelDoctor: () => invoke<void>("cancel_doctor"),
  /** Repairs the open vault: the session closes for it and opens again (status says whether it did). */
  repairVault: () => invoke<Recovery>("repair_vault"),
  /** From the unlock screen, the catalog being damaged: check (or repair, then open) from the passphrase, or with null the remembered key. */
  recover: (passphrase: string | null, repair: boolean, rememberKey: boolean) =>
    invoke<Recovery>("recover", { passphrase, repair, rememberKey }),
};

/**
 * Calls `report` at most once per `ms` (the first call at once): input in the
 * window tells the shell about activity without a call per mouse move.
 */
export function throttle(report: () => void, ms: number, now: () => number = Date.now): () => void {
  let last = -Infinity;
  return () => {
    const t = now();
    if (t - last >= ms) {
      last = t;
      report();
    }
  };
}

/** Tells the shell the window is in use (throttled; errors are of no interest: locked is idle). */
export const reportActivity = throttle(() => void api.activity().catch(() => {}), 5000);

/** An error for a notification: the message, and its kind as the detail. */
export function errorDetail(e: unknown): string {
  return isIpcError(e) ? `${e.message} (${e.kind})` : errorMessage(e);
}
