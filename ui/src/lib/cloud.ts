// Cloud sync in the UI: form checks, progress lines and summaries. Pure
// functions, unit-tested (cloud.test.ts).
import type {
  ConnectionStep,
  PullReport,
  PushReport,
  RemoteForm,
  RemoteSettings,
  RepairReport,
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

export function pushSummary(r: PushReport): string {
  if (r.nothing_new) return `Up to date: ${r.remote} already has everything.`;
  return `Pushed ${plural(r.packs_uploaded, "pack")} (${formatBytes(r.bytes_uploaded)}) to ${r.remote} in ${r.seconds.toFixed(1)} s; the cloud catalog has ${plural(r.tracks, "track")}.`;
}

export function pullSummary(r: PullReport): string {
  if (r.up_to_date) return `Up to date with ${r.remote}.`;
  let s = `${plural(r.tracks_added, "track")} added, ${r.tracks_state_changed.toLocaleString("en-US")} changed state (${formatBytes(r.bytes_fetched)} fetched)`;
  if (r.failed.length) s += `; ${r.failed.length} could not be fetched`;
  return `${s}.`;
}

export function repairSummary(r: RepairReport): string {
  if (r.cancelled) return "Repair cancelled.";
  if (r.damaged === 0) return "Nothing to repair: every track is intact.";
  if (r.unrepaired.length === 0) return `Repaired ${plural(r.repaired.length, "track")} from the cloud (${plural(r.repaired_chunks, "chunk")}).`;
  return `Repaired ${plural(r.repaired.length, "track")}; ${plural(r.unrepaired.length, "track")} could not be repaired.`;
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

/** The library's location cell and the details drawer. */
export function locationText(l: TrackLocation): { label: string; stored: string } {
  return l === "both"
    ? { label: "On this device and in the cloud", stored: "This device and cloud" }
    : { label: "Only on this device", stored: "This device only" };
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
    default:
      return "Access keys: not stored";
  }
}
