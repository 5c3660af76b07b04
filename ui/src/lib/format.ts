// Formatting for the library: pure functions, unit-tested.

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return "–";
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** A total duration for the footer: "2 h 05 min", "12 min", "45 s". */
export function formatTotalDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds <= 0) return "0 min";
  const total = Math.round(seconds);
  const d = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${String(m).padStart(2, "0")} min`;
  if (m > 0) return `${m} min`;
  return `${total} s`;
}

const UNITS = ["B", "KB", "MB", "GB", "TB", "PB"];

/** Decimal units, as file managers show sizes. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes == null || !Number.isFinite(bytes) || bytes < 0) return "–";
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < UNITS.length - 1) {
    v /= 1000;
    i++;
  }
  if (i === 0) return `${v} B`;
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${UNITS[i]}`;
}

/** "44.1 kHz / 16-bit", "48 kHz", or "–". */
export function formatRate(sampleRate: number | null, bitDepth: number | null): string {
  if (!sampleRate) return "–";
  const khz = sampleRate / 1000;
  const rate = `${Number.isInteger(khz) ? khz.toFixed(0) : khz.toFixed(1)} kHz`;
  return bitDepth ? `${rate} / ${bitDepth}-bit` : rate;
}

/** A date for the table: local "2025-11-23 21:04". */
export function formatDate(rfc3339: string | null | undefined): string {
  if (!rfc3339) return "–";
  const d = new Date(rfc3339);
  if (Number.isNaN(d.getTime())) return "–";
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** "1 track", "3 tracks". */
export function plural(n: number, word: string): string {
  return `${n.toLocaleString("en-US")} ${word}${n === 1 ? "" : "s"}`;
}

/** A track's display title: its tag, else the file name without extension. */
export function displayTitle(t: { title: string | null; file_name: string }): string {
  if (t.title && t.title.trim()) return t.title;
  const dot = t.file_name.lastIndexOf(".");
  return dot > 0 ? t.file_name.slice(0, dot) : t.file_name;
}

/** Remaining time for a batch from bytes done and elapsed seconds. */
export function eta(done: number, total: number, elapsedSeconds: number): number | null {
  if (done <= 0 || total <= done || elapsedSeconds <= 0.5) return null;
  const rate = done / elapsedSeconds;
  return (total - done) / rate;
}

/** The Empty Trash confirmation: names how many tracks and bytes go for good. */
export function emptyTrashQuestion(tracks: number, bytes: number): string {
  if (tracks <= 0) return "The Trash is empty.";
  return `Delete ${plural(tracks, "track")} (${formatBytes(bytes)}) for good? This cannot be undone.`;
}

/** One line for a verify report. */
export function verifySummary(r: {
  ok: boolean;
  cancelled: boolean;
  tracks_checked: number;
  bytes_checked: number;
  damaged_tracks: unknown[];
  damaged_chunks: unknown[];
  /** Cloud-only tracks: not on this device, so not checked here unless `checked`. */
  cloud_only?: { checked: boolean }[];
}): string {
  if (r.cancelled) return `Verification cancelled after ${plural(r.tracks_checked, "track")}.`;
  const unchecked = (r.cloud_only ?? []).filter((t) => !t.checked).length;
  const cloud = unchecked ? ` ${plural(unchecked, "track")} in the cloud only, not checked locally.` : "";
  if (r.ok) {
    const here = r.tracks_checked - unchecked;
    return `All ${plural(here, "track")} intact: ${formatBytes(r.bytes_checked)} authenticated and re-hashed.${cloud}`;
  }
  const damaged = Math.max(r.damaged_tracks.length, 0);
  return `${plural(damaged, "track")} damaged (${plural(r.damaged_chunks.length, "chunk")} missing or corrupt) of ${plural(r.tracks_checked, "track")} checked.${cloud}`;
}

/** Why the Change passphrase button is disabled, or null when it may be pressed. */
export function passphraseChangeProblem(current: string, next: string, repeat: string): string | null {
  if (!current) return "Enter the current passphrase.";
  if (!next) return "Choose a new passphrase.";
  if (next !== repeat) return "The new passphrases differ.";
  if (next === current) return "The new passphrase is the current one.";
  return null;
}

/** The line under "Locking…": what is being stopped ("" when nothing runs). */
export function lockingLine(cloudJob: string | null, batchTitle: string | null): string {
  const work: string[] = [];
  if (cloudJob) work.push(`the ${cloudJob}`);
  const first = batchTitle?.split(" ")[0];
  const noun = first === "Importing" ? "import" : first === "Exporting" ? "export" : first === "Verifying" ? "verification" : first === "Repairing" ? "repair" : first ? "running work" : null;
  if (noun) work.push(`the ${noun}`);
  return work.length ? `Stopping ${work.join(" and ")}…` : "";
}
