// The cloud side of the app while it is unlocked: the sync status, and the one
// running push or pull with its progress. One instance lives for the app's run,
// so progress survives switching views.
import { api, errorDetail, type PullReport, type PushReport, type SyncStatus } from "./api";
import { Batch } from "./imports.svelte";
import { pullSummary, pushSummary } from "./cloud";

export type CloudJobKind = "push" | "pull";

export type Notify = (text: string, kind?: "info" | "error", detail?: string) => void;

export class CloudWork {
  status = $state<SyncStatus | null>(null);
  kind = $state<CloudJobKind | null>(null);
  batch = $state<Batch | null>(null);
  /** The last finished job's one-line result. */
  result = $state<string | null>(null);
  error = $state<string | null>(null);

  get running(): boolean {
    return !!this.batch?.running;
  }

  async refresh(): Promise<void> {
    try {
      this.status = await api.syncStatus();
    } catch {
      /* locked, or no vault: the view keeps what it had */
    }
  }

  async push(notify: Notify): Promise<PushReport | null> {
    return this.#run("push", "Pushing to the cloud", (onEvent) => api.push(onEvent), pushSummary, notify);
  }

  async pull(notify: Notify): Promise<PullReport | null> {
    return this.#run("pull", "Pulling from the cloud", (onEvent) => api.pull(onEvent), pullSummary, notify);
  }

  cancel(): void {
    void api.cancelSync();
  }

  /** On lock: the next vault starts with nothing of this one's (a running job goes on). */
  forget(): void {
    this.status = null;
    if (this.running) return;
    this.batch = null;
    this.kind = null;
    this.result = null;
    this.error = null;
  }

  async #run<T>(
    kind: CloudJobKind,
    title: string,
    work: (onEvent: (e: Parameters<Batch["apply"]>[0]) => void) => Promise<T>,
    summary: (r: T) => string,
    notify: Notify,
  ): Promise<T | null> {
    if (this.running) return null;
    const b = new Batch(title);
    this.kind = kind;
    this.batch = b;
    this.result = null;
    this.error = null;
    try {
      const r = await work((e) => b.apply(e));
      this.result = summary(r);
      notify(kind === "push" ? "Push finished" : "Pull finished", "info", this.result);
      return r;
    } catch (e) {
      const cancelled = typeof e === "object" && e !== null && (e as { kind?: string }).kind === "cancelled";
      this.error = cancelled ? `The ${kind} was cancelled.` : errorDetail(e);
      notify(cancelled ? `The ${kind} was cancelled` : `The ${kind} failed`, cancelled ? "info" : "error", cancelled ? undefined : this.error);
      return null;
    } finally {
      b.running = false;
      await this.refresh();
    }
  }
}

export const cloudWork = new CloudWork();
