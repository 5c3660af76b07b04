// Typed wrappers over the shell's IPC commands (src-tauri/src/commands.rs).
// Shapes mirror the engine's serde output (snake_case keys).
import { Channel, invoke } from "@tauri-apps/api/core";

export interface IpcError {
  kind: string;
  message: string;
}

export function isIpcError(e: unknown): e is IpcError {
  return typeof e === "object" && e !== null && "kind" in e && "message" in e;
}

export function errorMessage(e: unknown): string {
  if (isIpcError(e)) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

export interface Status {
  vault_dir: string;
  default_dir: string | null;
  exists: boolean;
  unlocked: boolean;
  vault_id: string | null;
  notice: string | null;
}

export type TrackState = "active" | "trashed";

export interface Track {
  id: string;
  sha256: string;
  file_name: string;
  size_bytes: number;
  format: string;
  imported_at: string;
  state: TrackState;
  trashed_at: string | null;
  chunk_count: number;
  stored_bytes: number;
  source_path: string | null;
  container: string | null;
  codec: string | null;
  duration_seconds: number | null;
  sample_rate: number | null;
  bit_depth: number | null;
  channels: number | null;
  bitrate: number | null;
  decodable: boolean | null;
  title: string | null;
  artist: string | null;
  album: string | null;
  album_artist: string | null;
  track_number: number | null;
  track_total: number | null;
  disc_number: number | null;
  disc_total: number | null;
  year: number | null;
  date: string | null;
  genre: string | null;
  composer: string | null;
  comment: string | null;
  has_artwork: boolean;
  artwork_mime: string | null;
  artwork_size: number | null;
  metadata_error: string | null;
}

export interface TrackDetails extends Track {
  other_tags: [string, string][];
  locations: string[];
}

export type SortKey =
  | "imported"
  | "title"
  | "artist"
  | "album"
  | "duration"
  | "format"
  | "sample_rate"
  | "size"
  | "year"
  | "file_name";

export interface SearchQuery {
  text?: string | null;
  state?: TrackState | null;
  formats?: string[];
  sort?: SortKey;
  descending?: boolean;
  limit?: number;
  after?: string | null;
}

export interface SearchPage {
  tracks: Track[];
  next_cursor: string | null;
}

export interface SearchSummary {
  tracks: number;
  duration_seconds: number;
  bytes: number;
}

export type ProgressEvent =
  | { event: "start"; items: number; bytes: number }
  | { event: "item"; path: string }
  | { event: "bytes"; done: number }
  | { event: "finished"; path: string; ok: boolean; done: number };

export type Outcome = "imported" | "duplicate" | "rejected" | "failed";

export interface FileResult {
  path: string;
  outcome: Outcome;
  reason: string | null;
  id: string | null;
  size_bytes: number | null;
  sha256: string | null;
}

export interface ImportReport {
  job_id: number;
  files: FileResult[];
  imported: number;
  duplicates: number;
  rejected: number;
  failed: number;
  cancelled: boolean;
  warnings: string[];
}

export interface ExportReport {
  exported: { id: string; path: string; sha256: string }[];
  failed: { id: string; file_name: string; reason: string }[];
  cancelled: boolean;
}

export interface Stream {
  url: string;
  content_type: string;
}

export interface Stats {
  tracks: number;
  trashed: number;
  logical_bytes: number;
  trashed_bytes: number;
  stored_bytes: number;
  unique_bytes: number;
  dedup_saved_bytes: number;
  chunks: number;
  quota_bytes: number | null;
  quota_used_fraction: number | null;
  by_format: { format: string; tracks: number; logical_bytes: number }[];
  warnings: string[];
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
  searchSummary: (query: SearchQuery) => invoke<SearchSummary>("search_summary", { query }),
  trackDetails: (id: string) => invoke<TrackDetails>("track_details", { id }),
  artwork: (id: string) => invoke<string | null>("artwork", { id }),
  thumbnail: (id: string) => invoke<string | null>("thumbnail", { id }),
  streamUrl: (id: string) => invoke<Stream>("stream_url", { id }),
  import: (paths: string[], onEvent: (e: ProgressEvent) => void) =>
    invoke<ImportReport>("import", { paths, onProgress: channel(onEvent) }),
  export: (ids: string[], dest: string, onEvent: (e: ProgressEvent) => void) =>
    invoke<ExportReport>("export", { ids, dest, onProgress: channel(onEvent) }),
  cancel: () => invoke<void>("cancel"),
  setTrashed: (ids: string[], trashed: boolean) => invoke<number>("set_trashed", { ids, trashed }),
  stats: () => invoke<Stats>("stats"),
  /** The native folder dialog, asked from the shell (automation can answer it). */
  pickFolder: (title: string) => invoke<string | null>("pick_folder", { title }),
};
