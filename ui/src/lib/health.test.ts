import { describe, expect, it } from "vitest";
import {
  affectedPreview,
  canRepair,
  checkStatus,
  checkTitle,
  healthError,
  orderedChecks,
  repairPaths,
  repairTitle,
  summarySentence,
} from "./health";
import type { Check, CheckName, DoctorReport, RepairAction } from "./bindings";

const check = (name: CheckName, over: Partial<Check> = {}): Check => ({
  check: name,
  ok: true,
  level: "error",
  detail: `${name} is fine`,
  affected: [],
  ...over,
});

const healthy = (): DoctorReport => ({
  ok: true,
  checks: (["catalog_integrity", "chunks", "records", "disk_space", "keyring", "vault_json"] as CheckName[]).map((n) => check(n)),
  repaired: [],
});

describe("titles", () => {
  it("names every check and every repair", () => {
    const names: CheckName[] = ["catalog_integrity", "chunks", "records", "disk_space", "keyring", "vault_json", "remote", "unmerged_manifests"];
    expect(names.map(checkTitle)).toEqual(["Catalog", "Chunks", "Sealed records", "Disk space", "Keyring", "vault.json", "Remote", "Other devices"]);
    const actions: RepairAction[] = ["catalog_rebuilt", "records_written", "records_removed", "orphan_chunks_removed"];
    const titles = actions.map(repairTitle);
    expect(new Set(titles).size).toBe(4);
    expect(titles[0]).toBe("Catalog rebuilt from the sealed records");
  });

  it("refuses a name the bindings do not know", () => {
    expect(() => checkTitle("something_new" as CheckName)).toThrow();
  });
});

describe("status and order", () => {
  it("an ok check is ok whatever its level; a failure is its level", () => {
    expect(checkStatus(check("keyring", { level: "warning" }))).toBe("ok");
    expect(checkStatus(check("keyring", { ok: false, level: "warning" }))).toBe("warning");
    expect(checkStatus(check("catalog_integrity", { ok: false }))).toBe("error");
  });

  it("puts errors first, then warnings, each in doctor's order", () => {
    const checks = [
      check("catalog_integrity"),
      check("chunks", { ok: false, level: "warning" }),
      check("records", { ok: false }),
      check("disk_space"),
      check("keyring", { ok: false, level: "warning" }),
      check("vault_json", { ok: false }),
    ];
    expect(orderedChecks(checks).map((c) => c.check)).toEqual(["records", "vault_json", "chunks", "keyring", "catalog_integrity", "disk_space"]);
    // The input is left as it was.
    expect(checks[0].check).toBe("catalog_integrity");
  });
});

describe("repair", () => {
  it("is offered for errors and for orphan chunk files only", () => {
    expect(canRepair(null)).toBe(false);
    expect(canRepair(healthy())).toBe(false);
    const r = healthy();
    r.checks[4] = check("keyring", { ok: false, level: "warning" });
    expect(canRepair(r)).toBe(false);
    r.checks[1] = check("chunks", { ok: false, level: "warning", affected: ["orphan chunk ab"] });
    expect(canRepair(r)).toBe(true);
    const damaged = healthy();
    damaged.checks[0] = check("catalog_integrity", { ok: false });
    expect(canRepair(damaged)).toBe(true);
  });

  it("lists moved files by name, with the path kept", () => {
    expect(
      repairPaths({ action: "catalog_rebuilt", detail: "", paths: ["/v/catalog.db.damaged-1", "/v/catalog.db-wal.damaged-1"] }),
    ).toEqual([
      { name: "catalog.db.damaged-1", path: "/v/catalog.db.damaged-1" },
      { name: "catalog.db-wal.damaged-1", path: "/v/catalog.db-wal.damaged-1" },
    ]);
  });
});

describe("summary sentence", () => {
  it("says all passed on a healthy vault", () => {
    expect(summarySentence(healthy())).toBe("The vault is whole: all 6 checks passed.");
  });

  it("names what needs attention, and counts warnings beside it", () => {
    const r = healthy();
    r.ok = false;
    r.checks[0] = check("catalog_integrity", { ok: false });
    expect(summarySentence(r)).toBe("Catalog needs attention.");
    r.checks[2] = check("records", { ok: false });
    r.checks[4] = check("keyring", { ok: false, level: "warning" });
    expect(summarySentence(r)).toBe("Catalog and Sealed records need attention, and 1 warning.");
  });

  it("says a vault with warnings only is whole, and that repair removes orphans", () => {
    const r = healthy();
    r.checks[4] = check("keyring", { ok: false, level: "warning" });
    expect(summarySentence(r)).toBe("The vault is whole; 1 warning: Keyring.");
    r.checks[1] = check("chunks", { ok: false, level: "warning" });
    r.checks.push(check("unmerged_manifests", { ok: false, level: "warning" }));
    expect(summarySentence(r)).toBe(
      "The vault is whole; 3 warnings: Chunks, Keyring and Other devices. Repair removes the orphan chunk files.",
    );
  });

  it("starts with what a repair did", () => {
    const r = healthy();
    r.repaired = [{ action: "catalog_rebuilt", detail: "rebuilt", paths: [] }];
    expect(summarySentence(r)).toBe("Repaired: 1 step. The vault is whole: all 6 checks passed.");
  });
});

describe("affected items", () => {
  it("shows a short list whole and collapses a long one", () => {
    expect(affectedPreview(["a", "b"])).toEqual({ head: ["a", "b"], rest: [] });
    const many = Array.from({ length: 50 }, (_, i) => `track ${i}`);
    const p = affectedPreview(many);
    expect(p.head).toEqual(["track 0", "track 1", "track 2"]);
    expect(p.rest.length).toBe(47);
    expect([...p.head, ...p.rest]).toEqual(many);
  });
});

describe("errors by kind", () => {
  it("words each kind the commands answer with", () => {
    expect(healthError({ kind: "busy", message: "x" }, false)).toContain("an import is running");
    expect(healthError({ kind: "cancelled", message: "x" }, false)).toBe("The check was cancelled.");
    expect(healthError({ kind: "cancelled", message: "x" }, true)).toContain("Nothing is left half done");
    expect(healthError({ kind: "wrong_passphrase", message: "x" }, true)).toBe("That passphrase does not open this vault.");
    expect(healthError({ kind: "passphrase_needed", message: "x" }, false)).toContain("Enter the vault's passphrase");
    expect(healthError({ kind: "io", message: "disk on fire" }, true)).toBe("The repair could not run: disk on fire");
  });
});
