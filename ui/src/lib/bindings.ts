// Generated from the shell's IPC types (src-tauri/src/dto.rs, cloud.rs, watching/dto.rs)
// and the engine's sync reports and formats table by src-tauri/src/bindings.rs. Do not edit:
// AUDIOVAULT_UPDATE_BINDINGS=1 cargo test -p audiovault-app bindings

export type IpcError = { kind: string, message: string, };

export type Status = { vault_dir: string, default_dir: string | null, 
/**
 * A vault exists in `vault_dir`.
 */
exists: boolean, unlocked: boolean, vault_id: string | null, 
/**
 * Why the vault did not open by itself (keyring unavailable, wrong passphrase in
 * the environment…), for the unlock screen.
 */
notice: string | null, };

export type TrackState = "active" | "trashed";

export type SortKey = "imported" | "title" | "artist" | "album" | "duration" | "format" | "sample_rate" | "size" | "year" | "file_name";

export type SearchQuery = { text: string | null, 
/**
 * Active tracks (the Library) or trashed ones (the Trash); default active.
 */
state: TrackState | null, 
/**
 * File formats ("flac", "mp3"…); empty means every format.
 */
formats: Array<string>, sort: SortKey, descending: boolean, 
/**
 * Page size (the engine's default when null).
 */
limit: number | null, 
/**
 * The `next_cursor` of the previous page.
 */
after: string | null, };

export type Track = { id: string, sha256: string, file_name: string, size_bytes: number, format: string, imported_at: string, state: TrackState, trashed_at: string | null, chunk_count: number, 
/**
 * Encrypted bytes of the chunks this track references.
 */
stored_bytes: number, source_path: string | null, container: string | null, codec: string | null, duration_seconds: number | null, sample_rate: number | null, bit_depth: number | null, channels: number | null, bitrate: number | null, decodable: boolean | null, title: string | null, artist: string | null, album: string | null, album_artist: string | null, track_number: number | null, track_total: number | null, disc_number: number | null, disc_total: number | null, year: number | null, date: string | null, genre: string | null, composer: string | null, comment: string | null, has_artwork: boolean, artwork_mime: string | null, artwork_size: number | null, metadata_error: string | null, 
/**
 * Filled by the commands that list tracks (`crate::cloud::fill_locations`).
 */
location: TrackLocation, };

export type TrackDetails = { 
/**
 * Tags beyond the common ones, as read.
 */
other_tags: Array<[string, string]>, 
/**
 * Where the track's bytes live: "local", and "cloud" when the remote has it whole.
 */
locations: Array<string>, id: string, sha256: string, file_name: string, size_bytes: number, format: string, imported_at: string, state: TrackState, trashed_at: string | null, chunk_count: number, 
/**
 * Encrypted bytes of the chunks this track references.
 */
stored_bytes: number, source_path: string | null, container: string | null, codec: string | null, duration_seconds: number | null, sample_rate: number | null, bit_depth: number | null, channels: number | null, bitrate: number | null, decodable: boolean | null, title: string | null, artist: string | null, album: string | null, album_artist: string | null, track_number: number | null, track_total: number | null, disc_number: number | null, disc_total: number | null, year: number | null, date: string | null, genre: string | null, composer: string | null, comment: string | null, has_artwork: boolean, artwork_mime: string | null, artwork_size: number | null, metadata_error: string | null, 
/**
 * Filled by the commands that list tracks (`crate::cloud::fill_locations`).
 */
location: TrackLocation, };

export type SearchPage = { tracks: Array<Track>, 
/**
 * Pass as `after` for the next page; null on the last page.
 */
next_cursor: string | null, };

export type SearchSummary = { tracks: number, duration_seconds: number, bytes: number, };

export type ProgressEvent = { "event": "start", items: number, bytes: number, } | { "event": "item", path: string, } | { "event": "bytes", done: number, } | { "event": "queued", paths: Array<string>, } | { "event": "finished", path: string, ok: boolean, done: number, outcome: Outcome | null, reason: string | null, };

export type Outcome = "imported" | "duplicate" | "rejected" | "failed";

export type FileResult = { path: string, outcome: Outcome, reason: string | null, id: string | null, size_bytes: number | null, sha256: string | null, };

export type ImportReport = { job_id: number, files: Array<FileResult>, imported: number, duplicates: number, rejected: number, failed: number, cancelled: boolean, warnings: Array<string>, };

export type Exported = { id: string, path: string, sha256: string, };

export type ExportFailure = { id: string, file_name: string, reason: string, };

export type ExportReport = { exported: Array<Exported>, failed: Array<ExportFailure>, cancelled: boolean, };

export type Stream = { url: string, content_type: string, };

export type FormatStats = { format: string, tracks: number, logical_bytes: number, };

export type Stats = { 
/**
 * Active tracks.
 */
tracks: number, trashed: number, logical_bytes: number, trashed_bytes: number, stored_bytes: number, unique_bytes: number, dedup_saved_bytes: number, chunks: number, quota_bytes: number | null, quota_used_fraction: number | null, by_format: Array<FormatStats>, warnings: Array<string>, };

export type DamagedChunk = { id: string, 
/**
 * "missing" or "corrupt"
 */
reason: string, tracks: Array<string>, };

export type DamagedTrack = { id: string, file_name: string, reason: string, };

export type VerifyReport = { ok: boolean, chunks_checked: number, tracks_checked: number, bytes_checked: number, damaged_chunks: Array<DamagedChunk>, damaged_tracks: Array<DamagedTrack>, cancelled: boolean, };

export type PurgeReport = { purged_tracks: number, removed_chunks: number, removed_bytes: number, };

export type Waveform = { status: string, peaks: Array<[number, number]> | null, };

export type AnalysisProgress = { running: boolean, done: number, total: number, };

export type Settings = { allowed_extensions: Array<string>, max_file_size_bytes: number | null, quota_bytes: number | null, };

export type AlbumSummary = { album: string, artist: string, tracks: number, duration_seconds: number, year: number | null, 
/**
 * A track with cover art, for the album's thumbnail.
 */
artwork_track: string | null, };

export type ArtistSummary = { artist: string, albums: number, tracks: number, duration_seconds: number, };

export type TrackLocation = "local" | "both";

export type RemoteSettings = { configured: boolean, 
/**
 * Null: AWS S3.
 */
endpoint: string | null, region: string, bucket: string, prefix: string, path_style: boolean, 
/**
 * "keyring", "environment", "session" (kept until the app quits: no keyring), or "none".
 */
credentials: string, access_key_id: string | null, };

export type RemoteForm = { 
/**
 * Blank: AWS S3.
 */
endpoint: string, region: string, bucket: string, prefix: string, path_style: boolean, access_key_id: string, 
/**
 * Blank: keep the stored secret.
 */
secret_access_key: string, };

export type ConnectionStep = { step: string, ok: boolean, error: string | null, error_kind: string | null, };

export type ConnectionReport = { ok: boolean, remote: string, steps: Array<ConnectionStep>, };

export type SyncStatus = { 
/**
 * This device's id: its line of manifests on the remote is named after it.
 */
device: string, configured: boolean, 
/**
 * `s3://bucket/prefix`
 */
remote: string | null, 
/**
 * RFC 3339, or null: never.
 */
last_push_at: string | null, last_pull_at: string | null, 
/**
 * Chunks (and their encrypted bytes) not on the remote yet.
 */
pending_chunks: number, pending_bytes: number, tracks_on_remote: number, tracks_local_only: number, 
/**
 * The catalog changed since the last push.
 */
catalog_changed: boolean, };

export type MergeReport = { 
/**
 * The manifests merged, by name.
 */
manifests: Array<string>, tracks_added: number, tracks_state_changed: number, 
/**
 * Tracks deleted here because another device purged them.
 */
tracks_purged: number, chunks_fetched: number, bytes_fetched: number, 
/**
 * Tracks that could not be brought over, with the reason; their lines stay
 * unmerged.
 */
failed: Array<PullFailure>, 
/**
 * A newer vault.json (a passphrase changed elsewhere) was adopted.
 */
vault_json_adopted: boolean, };

export type PushReport = { 
/**
 * True when the catalog and chunks were already on the remote: no request made.
 */
nothing_new: boolean, remote: string, 
/**
 * This device's id: its line of manifests is named after it.
 */
device: string, 
/**
 * The new manifest's place in this device's line.
 */
seq: number, 
/**
 * Other devices' catalogs merged before the push (a push never writes a
 * manifest that leaves out what it has seen of theirs).
 */
merged: MergeReport, 
/**
 * This device's vault.json went up as the newest key file.
 */
vault_json_uploaded: boolean, 
/**
 * A newer vault.json from another device was adopted instead.
 */
vault_json_adopted: boolean, packs_uploaded: number, chunks_uploaded: number, bytes_uploaded: number, snapshot_bytes: number, snapshot_chunks_uploaded: number, manifest: string | null, tracks: number, requests_put: number, requests_get: number, requests_list: number, retries: number, seconds: number, };

export type PullFailure = { track_id: string, file_name: string, reason: string, };

export type PullReport = { 
/**
 * True when every device's line was already merged.
 */
up_to_date: boolean, remote: string, 
/**
 * The last manifest merged.
 */
manifest: string | null, 
/**
 * Every manifest merged, one per device line that had news.
 */
manifests_merged: Array<string>, tracks_added: number, tracks_state_changed: number, 
/**
 * Tracks deleted here because another device purged them.
 */
tracks_purged: number, 
/**
 * Chunk files of purged tracks removed by the local GC after the pull.
 */
chunks_removed: number, chunks_fetched: number, bytes_fetched: number, 
/**
 * A passphrase changed on another device: this device now opens with it.
 */
vault_json_adopted: boolean, 
/**
 * Tracks that could not be brought over, with the reason.
 */
failed: Array<PullFailure>, seconds: number, };

export type DeviceLine = { device: string, this_device: boolean, 
/**
 * Manifests of the line still on the remote.
 */
manifests: number, 
/**
 * The newest one's number in the line.
 */
newest_seq: number, 
/**
 * When the remote received the newest one (the server's clock, RFC 3339).
 */
last_push_at: string | null, 
/**
 * Tracks in the newest manifest's catalog.
 */
tracks: number, 
/**
 * The newest manifest of this line that this device's catalog includes.
 */
merged_seq: number, };

export type Incoming = { device: string, seq: number, 
/**
 * Server time the manifest was written (RFC 3339).
 */
pushed_at: string | null, new_tracks: number, 
/**
 * Bytes of audio and artwork those tracks would bring (chunks not held here).
 */
new_bytes: number, state_changes: number, purges: number, };

export type RemoteDevices = { remote: string, this_device: string, devices: Array<DeviceLine>, 
/**
 * Lines with news this device has not merged, newest manifest each, with what
 * merging it would change (when asked for; counting fetches the snapshot).
 */
unmerged: Array<Incoming>, };

export type RestoreForm = { remote: RemoteForm, 
/**
 * The folder to restore into: new, empty, or a restore of the same remote
 * that stopped part way (it resumes).
 */
dir: string, passphrase: string, 
/**
 * Remember the vault key in the OS keyring.
 */
remember_key: boolean, };

export type RestoreReport = { status: Status, pull: PullReport, };

export type UnrepairedTrack = { id: string, file_name: string, reason: string, };

export type RepairReport = { 
/**
 * Tracks damaged when the repair started (it verifies first).
 */
damaged: number, repaired_chunks: number, 
/**
 * File names of the tracks whole again.
 */
repaired: Array<string>, unrepaired: Array<UnrepairedTrack>, cancelled: boolean, };

export type Format = { 
/**
 * The catalog's format name (the `format` of a track, `--format`'s value).
 */
id: string, 
/**
 * What people call it.
 */
display_name: string, 
/**
 * File extensions, lower case, without the dot. Every extension belongs to one format.
 */
extensions: Array<string>, 
/**
 * Whether a new vault accepts its extensions (the `allowed_extensions` default).
 */
allowed_by_default: boolean, 
/**
 * The MIME type the playback server sends; `None`: sent as
 * `application/octet-stream`.
 */
mime_type: string | null, 
/**
 * Other names media frameworks know the MIME type by (the player asks for each).
 */
mime_aliases: Array<string>, 
/**
 * Whether the app's player (WebKitGTK over GStreamer, with the plugins the app
 * installs) plays it.
 */
playable_in_webview: boolean, };

export type AfterImport = "keep" | "remove";

export type WatchFolderSettings = { path: string, enabled: boolean, 
/**
 * Files in subfolders too.
 */
recursive: boolean, after_import: AfterImport, 
/**
 * Move files that fail into the folder's 'Not imported' subfolder.
 */
move_failures: boolean, 
/**
 * How long a file must stay unchanged before it is imported.
 */
settle_seconds: number, 
/**
 * Scan every few seconds instead of using file-system events.
 */
poll: boolean, };

export type FolderState = "watching" | "polling" | "unavailable" | "stopped" | "off" | "starting";

export type WatchedFolder = { state: FolderState, 
/**
 * Why it is polled or unavailable.
 */
reason: string | null, path: string, enabled: boolean, 
/**
 * Files in subfolders too.
 */
recursive: boolean, after_import: AfterImport, 
/**
 * Move files that fail into the folder's 'Not imported' subfolder.
 */
move_failures: boolean, 
/**
 * How long a file must stay unchanged before it is imported.
 */
settle_seconds: number, 
/**
 * Scan every few seconds instead of using file-system events.
 */
poll: boolean, };

export type ActivityKind = "imported" | "skipped" | "not_imported" | "ignored" | "waiting" | "folder" | "notice";

export type WatchActivity = { id: number, 
/**
 * Milliseconds since 1970.
 */
at_ms: number, kind: ActivityKind, 
/**
 * The file, or the folder, it is about.
 */
path: string | null, 
/**
 * What happened and why, in words.
 */
message: string, track_id: string | null, };

export type WatchStatus = { 
/**
 * A watcher runs (at least one folder is enabled and the vault is open).
 */
running: boolean, 
/**
 * Why the watcher stopped, when it stopped on an error.
 */
error: string | null, folders: Array<WatchedFolder>, activity: Array<WatchActivity>, 
/**
 * Entries on the 'Not imported' list.
 */
failures: number, };

export type WatchFailure = { id: number, folder: string, 
/**
 * Where the watcher found the file.
 */
path: string, 
/**
 * Where it is now ('Not imported' subfolder); null when left in place.
 */
moved_to: string | null, 
/**
 * "rejected" or "failed".
 */
outcome: string, reason: string, size_bytes: number | null, 
/**
 * RFC 3339, UTC.
 */
at: string, };

export type WatchUpdate = { "event": "folder", path: string, state: FolderState, reason: string | null, } | { "event": "activity", entry: WatchActivity, } | { "event": "runner", running: boolean, error: string | null, } | { "event": "reload" };

/** The engine's formats table (crates/engine/src/formats.rs), one format a line. */
export const FORMATS: readonly Format[] = [
  {"id":"wav","display_name":"WAV","extensions":["wav","wave"],"allowed_by_default":true,"mime_type":"audio/wav","mime_aliases":["audio/x-wav","audio/wave"],"playable_in_webview":true},
  {"id":"aiff","display_name":"AIFF","extensions":["aif","aiff","aifc"],"allowed_by_default":true,"mime_type":"audio/x-aiff","mime_aliases":["audio/aiff"],"playable_in_webview":true},
  {"id":"flac","display_name":"FLAC","extensions":["flac"],"allowed_by_default":true,"mime_type":"audio/flac","mime_aliases":["audio/x-flac"],"playable_in_webview":true},
  {"id":"m4a","display_name":"AAC / ALAC (MP4)","extensions":["m4a","mp4","alac"],"allowed_by_default":true,"mime_type":"audio/mp4","mime_aliases":["audio/x-m4a","audio/aac"],"playable_in_webview":true},
  {"id":"aac","display_name":"AAC (ADTS)","extensions":["aac"],"allowed_by_default":true,"mime_type":"audio/aac","mime_aliases":[],"playable_in_webview":true},
  {"id":"mp3","display_name":"MP3","extensions":["mp3"],"allowed_by_default":true,"mime_type":"audio/mpeg","mime_aliases":[],"playable_in_webview":true},
  {"id":"ogg","display_name":"Ogg Vorbis","extensions":["ogg","oga"],"allowed_by_default":true,"mime_type":"audio/ogg","mime_aliases":[],"playable_in_webview":true},
  {"id":"opus","display_name":"Opus","extensions":["opus"],"allowed_by_default":true,"mime_type":"audio/ogg","mime_aliases":[],"playable_in_webview":true},
  {"id":"mp2","display_name":"MPEG Layer II","extensions":["mp2"],"allowed_by_default":false,"mime_type":null,"mime_aliases":[],"playable_in_webview":false},
  {"id":"mp1","display_name":"MPEG Layer I","extensions":["mp1"],"allowed_by_default":false,"mime_type":null,"mime_aliases":[],"playable_in_webview":false},
  {"id":"caf","display_name":"Core Audio Format","extensions":["caf"],"allowed_by_default":false,"mime_type":null,"mime_aliases":[],"playable_in_webview":false},
  {"id":"mka","display_name":"Matroska audio","extensions":["mka"],"allowed_by_default":false,"mime_type":null,"mime_aliases":[],"playable_in_webview":false},
  {"id":"wv","display_name":"WavPack","extensions":["wv"],"allowed_by_default":false,"mime_type":null,"mime_aliases":[],"playable_in_webview":false},
  {"id":"ape","display_name":"Monkey's Audio","extensions":["ape"],"allowed_by_default":false,"mime_type":null,"mime_aliases":[],"playable_in_webview":false},
  {"id":"mpc","display_name":"Musepack","extensions":["mpc","mpp"],"allowed_by_default":false,"mime_type":null,"mime_aliases":[],"playable_in_webview":false},
  {"id":"tta","display_name":"True Audio","extensions":["tta"],"allowed_by_default":false,"mime_type":null,"mime_aliases":[],"playable_in_webview":false},
  {"id":"dsf","display_name":"DSD (DSF)","extensions":["dsf"],"allowed_by_default":false,"mime_type":null,"mime_aliases":[],"playable_in_webview":false},
  {"id":"dff","display_name":"DSD (DSDIFF)","extensions":["dff"],"allowed_by_default":false,"mime_type":null,"mime_aliases":[],"playable_in_webview":false},
  {"id":"wma","display_name":"Windows Media Audio (ASF)","extensions":["wma"],"allowed_by_default":false,"mime_type":null,"mime_aliases":[],"playable_in_webview":false},
];
