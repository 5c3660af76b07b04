// Cloud sync in the UI: form checks, progress lines and summaries. Pure
// functions, unit-tested (cloud.test.ts).
import type {
  ConnectionStep,
  AutoSyncStatus,
  DeviceLine,
  EvictReport,
  KeepReport,
  MergeReport,
  PullFailure,
  PullReport,
  PushReport,
  RemoteDevices,
  RemoteForm,
  RemoteSettings,
  RepairOutcome,
  SyncStatus,
  TrackLocation,
} from "./bindings";
import { formatBytes, formatDate, formatDuration, plural } from "./format";

export function emptyRemoteForm(): RemoteForm {
  return {
    endpoint: "",
    region: "us-east-1",
    bucket: "",
    prefix: "",
    path_style: false,
    access_key_id: "",
    secret_access_key: "",
  };
}

/** The form as the saved settings fill it: never a secret (the shell has none to give). */
export function formFromSettings(s: RemoteSettings): RemoteForm {
  if (!s.configured) return { ...emptyRemoteForm(), access_key_id: s.access_key_id ?? "" };
  return {
    endpoint: s.endpoint ?? "",
    region: s.region,
    bucket: s.bucket,
    prefix: s.prefix,
    path_style: s.path_style,
    access_key_id: s.access_key_id ?? "",
    secret_access_key: "",
  };
}

/** True when the form differs from what is saved (a typed secret always counts). */
export function formChanged(form: RemoteForm, saved: RemoteSettings | null): boolean {
  if (!saved) return true;
  const f = formFromSettings(saved);
  return (
    form.secret_access_key.trim() !== "" ||
    form.endpoint.trim().replace(/\/+$/, "") !== f.endpoint ||
    (form.region.trim() || "us-east-1") !== f.region ||
    form.bucket.trim() !== f.bucket ||
    form.prefix.trim().replace(/^\/+|\/+$/g, "") !== f.prefix ||
    form.path_style !== f.path_style ||
    form.access_key_id.trim() !== f.access_key_id
  );
}

/**
 * Why the remote form cannot be saved, or null. `storedKeyId` is the access key
 * id whose secret is stored (null: none), so a blank secret may keep it.
 */
export function remoteFormProblem(form: RemoteForm, storedKeyId: string | null, requireKeys = false): string | null {
  const endpoint = form.endpoint.trim();
  if (endpoint && !/^https?:\/\/[^\s/]+/.test(endpoint)) return "The endpoint must be a URL starting with http:// or https://.";
  const bucket = form.bucket.trim();
  if (!bucket) return "Enter the bucket name.";
  if (bucket.includes("/") || /\s/.test(bucket)) return "A bucket name has no slashes or spaces (put folders in Prefix).";
  if (/\s/.test(form.region.trim())) return "The region has no spaces (e.g. us-east-1).";
  const id = form.access_key_id.trim();
  const secret = form.secret_access_key.trim();
  if (secret && !id) return "Enter the access key id that goes with the secret.";
  if (id && !secret && (requireKeys || id !== storedKeyId)) return "Enter the secret access key.";
  if (requireKeys && !id) return "Enter the access key id and the secret access key.";
  return null;
}

/** Why the restore form cannot start, or null. */
export function restoreProblem(form: RemoteForm, dir: string, passphrase: string): string | null {
  return (
    remoteFormProblem(form, null, true) ??
    (dir.trim() ? null : "Choose a folder for the restored vault.") ??
    (passphrase ? null : "Enter the passphrase of the vault in the cloud.")
  );
}

export interface SyncProgress {
  /** Objects (packs, ranges) in the whole job, and finished so far. */
  items: number;
  finished: number;
  bytes: number;
  done: number;
  elapsedSeconds: number;
}

/** Remaining seconds at the average rate so far, or null when unknown. */
export function syncEta(p: SyncProgress): number | null {
  if (p.done <= 0 || p.bytes <= p.done || p.elapsedSeconds < 1) return null;
  return (p.bytes - p.done) / (p.done / p.elapsedSeconds);
}

/** "3 of 10 objects · 12.0 MB of 40.0 MB · 4.00 MB/s · 0:07 left" */
export function syncProgressLine(p: SyncProgress): string {
  const parts = [`${p.finished.toLocaleString("en-US")} of ${plural(p.items, "object")}`];
  parts.push(`${formatBytes(p.done)} of ${formatBytes(p.bytes)}`);
  if (p.elapsedSeconds >= 1 && p.done > 0) parts.push(`${formatBytes(p.done / p.elapsedSeconds)}/s`);
  const eta = syncEta(p);
  if (eta !== null) parts.push(`${formatDuration(eta)} left`);
  return parts.join(" · ");
}

/** Said whenever a push or pull took a newer vault.json from the remote. */
export const PASSPHRASE_ADOPTED =
  "The passphrase was changed on another device: this vault now opens with that passphrase, not the one you used to unlock it.";

/** "Song.flac (checksum mismatch), B.wav (…) and 3 more" */
function failureList(failed: PullFailure[], shown = 3): string {
  const names = failed.slice(0, shown).map((f) => `${f.file_name} (${f.reason})`);
  const more = failed.length - names.length;
  return more > 0 ? `${names.join(", ")} and ${more} more` : names.join(", ");
}

/** What a push merged from other devices before it pushed, as a clause; "" when nothing. */
function mergedClause(m: MergeReport): string {
  const parts: string[] = [];
  if (m.tracks_added) parts.push(`${plural(m.tracks_added, "track")} from another device`);
  if (m.tracks_state_changed) parts.push(`${m.tracks_state_changed.toLocaleString("en-US")} Trash change${m.tracks_state_changed === 1 ? "" : "s"}`);
  if (m.tracks_purged) parts.push(`${m.tracks_purged.toLocaleString("en-US")} purge${m.tracks_purged === 1 ? "" : "s"}`);
  if (!parts.length && m.manifests.length) parts.push("another device's catalog");
  return parts.length ? `Merged ${parts.join(", ")}, then pushed` : "";
}

export function pushSummary(r: PushReport): string {
  const sentences: string[] = [];
  if (r.nothing_new) sentences.push(`Up to date: ${r.remote} already has everything.`);
  else {
    const merged = mergedClause(r.merged);
    const pushed = `${plural(r.packs_uploaded, "pack")} (${formatBytes(r.bytes_uploaded)}) to ${r.remote} in ${r.seconds.toFixed(1)} s; the cloud catalog has ${plural(r.tracks, "track")}.`;
    sentences.push(merged ? `${merged} ${pushed}` : `Pushed ${pushed}`);
  }
  if (r.merged.failed.length) {
    const n = r.merged.failed.length;
    sentences.push(
      `${plural(n, "track")} from another device could not be merged: ${failureList(r.merged.failed)}. The push went ahead without losing ${n === 1 ? "it" : "them"}: ${n === 1 ? "it stays" : "they stay"} in the other device's pushes and ${n === 1 ? "is" : "are"} merged by a later pull or push.`,
    );
  }
  if (r.vault_json_adopted || r.merged.vault_json_adopted) sentences.push(PASSPHRASE_ADOPTED);
  return sentences.join(" ");
}

export function pullSummary(r: PullReport): string {
  const sentences: string[] = [];
  if (r.up_to_date) sentences.push(`Up to date with ${r.remote}.`);
  else {
    let s = `${plural(r.tracks_added, "track")} added, ${r.tracks_state_changed.toLocaleString("en-US")} changed state (${formatBytes(r.bytes_fetched)} fetched)`;
    if (r.tracks_purged) s += `, ${plural(r.tracks_purged, "track")} purged on another device and deleted here`;
    if (r.failed.length) s += `; ${r.failed.length} could not be fetched: ${failureList(r.failed)}`;
    sentences.push(`${s}.`);
  }
  if (r.vault_json_adopted) sentences.push(PASSPHRASE_ADOPTED);
  return sentences.join(" ");
}

/** "just now", "5 minutes ago", "2 hours ago", "yesterday", "3 days ago"; a date past a month. */
export function relativeTime(rfc3339: string | null | undefined, now: number = Date.now()): string {
  if (!rfc3339) return "never";
  const t = Date.parse(rfc3339);
  if (Number.isNaN(t)) return "–";
  // The server's clock: a little ahead of ours is still "just now".
  const seconds = Math.round((now - t) / 1000);
  if (seconds < 45) return "just now";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${plural(minutes, "minute")} ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `${plural(hours, "hour")} ago`;
  const days = Math.round(hours / 24);
  if (days === 1) return "yesterday";
  if (days < 31) return `${days} days ago`;
  return `on ${formatDate(rfc3339).slice(0, 10)}`;
}

/** The exact time for a tooltip: "2025-11-23 21:04:05 (your time)". */
export function exactTime(rfc3339: string | null | undefined): string {
  if (!rfc3339) return "";
  const d = new Date(rfc3339);
  if (Number.isNaN(d.getTime())) return "";
  return `${formatDate(rfc3339)}:${String(d.getSeconds()).padStart(2, "0")} (your time)`;
}

/** "Device 3f9a01c2": ids are random, their first 8 hex digits tell devices apart (this one is marked beside it). */
export function deviceName(d: Pick<DeviceLine, "device">): string {
  return `Device ${d.device.slice(0, 8)}`;
}

/** Whether this device has merged a line's newest push. */
export function mergeState(d: DeviceLine): { merged: boolean; text: string } {
  if (d.this_device) return { merged: true, text: "Pushed from here" };
  return d.merged_seq >= d.newest_seq ? { merged: true, text: "Merged here" } : { merged: false, text: "Not merged here yet" };
}

/** What waits in other devices' pushes, counted over every unmerged line. */
export interface Waiting {
  devices: number;
  tracks: number;
  bytes: number;
  stateChanges: number;
  purges: number;
}

export function waiting(r: RemoteDevices): Waiting {
  return r.unmerged.reduce<Waiting>(
    (w, i) => ({
      devices: w.devices + 1,
      tracks: w.tracks + i.new_tracks,
      bytes: w.bytes + i.new_bytes,
      stateChanges: w.stateChanges + i.state_changes,
      purges: w.purges + i.purges,
    }),
    { devices: 0, tracks: 0, bytes: 0, stateChanges: 0, purges: 0 },
  );
}

/**
 * "3 new tracks from another device (120 MB) · 1 moved to or from the Trash · 1 purged",
 * or null when nothing waits.
 */
export function waitingSentence(r: RemoteDevices): string | null {
  const w = waiting(r);
  if (w.devices === 0) return null;
  const from = w.devices === 1 ? "another device" : `${w.devices} other devices`;
  const parts: string[] = [];
  if (w.tracks) parts.push(`${plural(w.tracks, "new track")} from ${from} (${formatBytes(w.bytes)})`);
  if (w.stateChanges) parts.push(`${w.stateChanges.toLocaleString("en-US")} moved to or from the Trash`);
  if (w.purges) parts.push(`${w.purges.toLocaleString("en-US")} purged`);
  if (!parts.length) return `Catalog changes from ${from} (no new tracks)`;
  if (!w.tracks) parts[0] += ` on ${from}`;
  return parts.join(" · ");
}

export function repairSummary(r: RepairOutcome): string {
  if (r.cancelled) return "Repair cancelled.";
  if (r.before.damaged_tracks.length === 0) return "Nothing to repair: every track is intact.";
  const chunks = r.repair?.repaired.length ?? 0;
  if (r.unrepaired_tracks.length === 0) return `Repaired ${plural(r.repaired_tracks.length, "track")} from the cloud (${plural(chunks, "chunk")}).`;
  return `Repaired ${plural(r.repaired_tracks.length, "track")}; ${plural(r.unrepaired_tracks.length, "track")} could not be repaired.`;
}

/** "Last synced 2025-11-23 21:04 (pushed)" or "Never synced". */
export function lastSync(s: Pick<SyncStatus, "last_push_at" | "last_pull_at"> | null): string {
  if (!s) return "";
  const push = s.last_push_at ? Date.parse(s.last_push_at) : NaN;
  const pull = s.last_pull_at ? Date.parse(s.last_pull_at) : NaN;
  if (Number.isNaN(push) && Number.isNaN(pull)) return "Never synced";
  const pushed = !Number.isNaN(push) && (Number.isNaN(pull) || push >= pull);
  return `Last synced ${formatDate(pushed ? s.last_push_at : s.last_pull_at)} (${pushed ? "pushed" : "pulled"})`;
}

/**
 * The sidebar's line for automatic sync, or null when it is off (the sidebar
 * then shows the last manual sync). `now` in unix milliseconds.
 */
export function autoSyncLine(s: AutoSyncStatus | null, now: number = Date.now()): string | null {
  if (!s || s.state === "off") return null;
  if (s.state === "syncing") return s.operation === "pull" ? "Auto sync: pulling…" : "Auto sync: pushing…";
  if (s.state === "error") {
    const what = s.operation === "pull" ? "pull" : "push";
    if (s.next_retry_at_ms === null) return `Auto sync: ${what} failed`;
    const seconds = Math.max(0, Math.round((s.next_retry_at_ms - now) / 1000));
    const when = seconds < 60 ? `in ${seconds} s` : `in ${plural(Math.round(seconds / 60), "minute")}`;
    return `Auto sync: ${what} failed, retrying ${when}`;
  }
  if (s.last_synced_at_ms === null) return "Auto sync: on";
  return `Auto sync: synced ${relativeTime(new Date(s.last_synced_at_ms).toISOString(), now)}`;
}

/** The library's location cell and the details drawer. */
export function locationText(l: TrackLocation): { label: string; stored: string } {
  switch (l) {
    case "both":
      return { label: "On this device and in the cloud", stored: "This device and cloud" };
    case "cloud":
      return { label: "In the cloud only: plays from the bucket", stored: "Cloud only (space freed here)" };
    default:
      return { label: "Only on this device", stored: "This device only" };
  }
}

/** One entry of a context menu. */
export type MenuItem = { label: string; testid: string; run: () => void };

/** The context menu of tracks (or an album's tracks): free up space, keep here. */
export function spaceActions(free: () => void, keep: () => void): MenuItem[] {
  return [
    { label: "Free up space", testid: "free-up-space", run: free },
    { label: "Keep on this device", testid: "keep-on-device", run: keep },
  ];
}

/** The toast after "Free up space": what was freed and, if any, why some stayed. */
export function evictSummary(r: EvictReport): { text: string; detail: string | null; ok: boolean } {
  const freed = `${r.evicted} ${r.evicted === 1 ? "track" : "tracks"} now in the cloud only, ${formatBytes(r.bytes_freed)} freed`;
  const refused = r.tracks.filter((t) => t.outcome === "refused");
  if (!refused.length) return { text: freed, detail: null, ok: true };
  const why = refused.map((t) => `${t.file_name}: ${t.reason ?? "refused"}`).join("\n");
  return { text: `${freed}; ${refused.length} kept on this device`, detail: why, ok: false };
}

/** The toast after "Keep on this device". */
export function keepSummary(r: KeepReport): { text: string; detail: string | null; ok: boolean } {
  const kept = `${r.kept} ${r.kept === 1 ? "track" : "tracks"} back on this device, ${formatBytes(r.bytes_fetched)} fetched`;
  const failed = r.tracks.filter((t) => t.outcome === "failed");
  if (!failed.length) return { text: kept, detail: null, ok: true };
  return { text: `${kept}; ${failed.length} still in the cloud only`, detail: failed.map((t) => t.reason ?? t.file_name).join("\n"), ok: false };
}

/** One connection-test line: "✓ reach the bucket" or "✕ write a probe object: access denied…". */
export function stepLine(s: ConnectionStep): string {
  return s.ok ? `✓ ${s.step}` : `✕ ${s.step}: ${s.error ?? "failed"}`;
}

/** Where the access keys are, for the Cloud view. */
export function keysNote(credentials: string): string {
  switch (credentials) {
    case "keyring":
      return "Access keys: stored in the OS keyring";
    case "environment":
      return "Access keys: from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY";
    case "session":
      return "Access keys: no OS keyring, kept until the app quits";
    case "aws_profile":
      return "Access keys: from an AWS profile (~/.aws/credentials, ~/.aws/config)";
    default:
      return "Access keys: not stored";
  }
}
