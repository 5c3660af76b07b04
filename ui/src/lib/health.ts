// The Health view's words: titles of doctor's checks and repairs, their order
// on screen, the summary sentence, and errors by kind. Pure functions over the
// engine's report types (bindings.ts), unit-tested (health.test.ts).
import type { Check, CheckName, DoctorReport, IpcError, Repair, RepairAction } from "./bindings";
import { plural } from "./format";

export type CheckStatus = "ok" | "warning" | "error";

/** A check's title as a person reads it. */
export function checkTitle(name: CheckName): string {
  switch (name) {
    case "catalog_integrity":
      return "Catalog";
    case "chunks":
      return "Chunks";
    case "records":
      return "Sealed records";
    case "disk_space":
      return "Disk space";
    case "keyring":
      return "Keyring";
    case "vault_json":
      return "vault.json";
    case "remote":
      return "Remote";
    case "unmerged_manifests":
      return "Other devices";
    default:
      return unreachable(name);
  }
}

/** What a repair did, as a title. */
export function repairTitle(action: RepairAction): string {
  switch (action) {
    case "catalog_rebuilt":
      return "Catalog rebuilt from the sealed records";
    case "records_written":
      return "Records written again";
    case "records_removed":
      return "Leftover records removed";
    case "orphan_chunks_removed":
      return "Orphan chunk files removed";
    default:
      return unreachable(action);
  }
}

function unreachable(x: never): never {
  throw new Error(`unknown value ${String(x)}`);
}

export function checkStatus(c: Check): CheckStatus {
  if (c.ok) return "ok";
  return c.level === "error" ? "error" : "warning";
}

const RANK: Record<CheckStatus, number> = { error: 0, warning: 1, ok: 2 };

/** Problems first (errors, then warnings), each group in doctor's own order. */
export function orderedChecks(checks: readonly Check[]): Check[] {
  return checks
    .map((c, i) => ({ c, i }))
    .sort((a, b) => RANK[checkStatus(a.c)] - RANK[checkStatus(b.c)] || a.i - b.i)
    .map(({ c }) => c);
}

/** Orphan chunk files alone fail `chunks` as a warning; a repair removes them. */
function orphansOnly(c: Check): boolean {
  return c.check === "chunks" && !c.ok && c.level === "warning";
}

/** Repair can do something: a check failed at error level, or orphan chunk files lie about. */
export function canRepair(report: DoctorReport | null): boolean {
  return !!report && report.checks.some((c) => checkStatus(c) === "error" || orphansOnly(c));
}

function titles(checks: Check[]): string {
  const names = checks.map((c) => checkTitle(c.check));
  if (names.length <= 1) return names.join("");
  return `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

/** One sentence over the whole report, for the top of the view. */
export function summarySentence(report: DoctorReport): string {
  const errors = report.checks.filter((c) => checkStatus(c) === "error");
  const warnings = report.checks.filter((c) => checkStatus(c) === "warning");
  const repaired = report.repaired.length ? `Repaired: ${plural(report.repaired.length, "step")}. ` : "";
  if (errors.length) {
    const what = errors.length === 1 ? "needs attention" : "need attention";
    const also = warnings.length ? `, and ${plural(warnings.length, "warning")}` : "";
    return `${repaired}${titles(errors)} ${what}${also}.`;
  }
  if (warnings.length) {
    const orphans = warnings.some(orphansOnly);
    return `${repaired}The vault is whole; ${plural(warnings.length, "warning")}: ${titles(warnings)}.${orphans ? " Repair removes the orphan chunk files." : ""}`;
  }
  return `${repaired}The vault is whole: all ${plural(report.checks.length, "check")} passed.`;
}

/** The first few affected items, and how many more (a long list is collapsed). */
export function affectedPreview(items: readonly string[], shown = 5): { head: string[]; rest: string[] } {
  if (items.length <= shown) return { head: [...items], rest: [] };
  const head = Math.max(1, shown - 2);
  return { head: items.slice(0, head), rest: items.slice(head) };
}

/** A repair's paths as file names for the list (the full path as a title). */
export function repairPaths(r: Repair): { name: string; path: string }[] {
  return r.paths.map((path) => ({ name: path.split("/").pop() || path, path }));
}

/** Doctor's errors in words, by kind. */
export function healthError(e: IpcError, repairing: boolean): string {
  const what = repairing ? "repair" : "check";
  switch (e.kind) {
    case "busy":
      return `The vault is busy (an import is running): the ${what} needs it to itself. Try again when the import ends.`;
    case "cancelled":
      return repairing
        ? "The repair was cancelled. Nothing is left half done: check again to see where the vault stands."
        : "The check was cancelled.";
    case "locked":
      return `The vault was locked: the ${what} stopped.`;
    case "wrong_passphrase":
      return "That passphrase does not open this vault.";
    case "passphrase_needed":
      return "Enter the vault's passphrase, then Check and repair again.";
    default:
      return `The ${what} could not run: ${e.message}`;
  }
}
