// The cloud side of the app while it is unlocked: the sync status, the devices
// that push to the remote (and what waits from them), and the one running push
// or pull with its progress. One instance lives for the app's run, so progress
// survives switching views.
import { api, errorDetail, isIpcError, type PullReport, type PushReport, type RemoteDevices, type SyncStatus } from "./api";
import { Batch } from "./imports.svelte";
import { pullSummary, pushSummary } from "./cloud";

export type CloudJobKind = "push" | "pull";

export type Notify = (text: string, kind?: "info" | "error", detail?: string) => void;

/** Errors of the devices' listing that need no words in the view. */
const QUIET_KINDS = new Set(["locked", "cancelled", "remote_not_configured"]);

export class CloudWork {
  status = $state<SyncStatus | null>(null);
  kind = $state<CloudJobKind | null>(null);
  batch = $state<Batch | null>(null);
  /** The last finished job's one-line result. */
  result = $state<string | null>(null);
  error = $state<string | null>(null);
  /** The remote's devices and what waits from them; null until first listed. */
  devices = $state<RemoteDevices | null>(null);
  devicesLoading = $state(false);
  /** False while the devices are listed but what waits from them is still being counted. */
  devicesCounted = $state(false);
  devicesError = $state<string | null>(null);
  /** Only the newest listing's answer is kept (a refresh may overtake another). */
  #devicesSeq = 0;
  /** Set by lock: a job that ends now was cancelled by it. */
  #locking = false;

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

  /**
   * Lists the devices (a few small requests), shows them, then, when another
   * device pushed something not merged here, counts what a pull would bring
   * (that fetches their catalogs, no audio).
   */
  async refreshDevices(): Promise<void> {
    const seq = ++this.#devicesSeq;
    this.devicesLoading = true;
    try {
      const listed = await api.remoteDevices(false);
      if (seq !== this.#devicesSeq) return;
      this.devices = listed;
      this.devicesError = null;
      this.devicesCounted = listed.unmerged.length === 0;
      if (this.devicesCounted) return;
      const counted = await api.remoteDevices(true);
      if (seq !== this.#devicesSeq) return;
      this.devices = counted;
      this.devicesCounted = true;
    } catch (e) {
      if (seq !== this.#devicesSeq) return;
      if (isIpcError(e) && QUIET_KINDS.has(e.kind)) {
        if (e.kind === "remote_not_configured") this.devices = null;
        this.devicesError = null;
      } else this.devicesError = errorDetail(e);
    } finally {
      if (seq === this.#devicesSeq) this.devicesLoading = false;
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

  /** On lock: the next vault starts with nothing of this one's; a running job is cancelled by the lock and says so. */
  forget(): void {
    this.status = null;
    this.devices = null;
    this.devicesError = null;
    this.devicesLoading = false;
    this.#devicesSeq++;
    if (this.running) {
      this.#locking = true;
      return;
    }
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
    this.#locking = false;
    try {
      const r = await work((e) => b.apply(e));
      this.result = summary(r);
      notify(kind === "push" ? "Push finished" : "Pull finished", "info", this.result);
      return r;
    } catch (e) {
      const cancelled = isIpcError(e) && e.kind === "cancelled";
      if (cancelled && this.#locking) this.error = `The ${kind} was cancelled when the vault was locked. Nothing was lost: ${kind} again to finish it.`;
      else this.error = cancelled ? `The ${kind} was cancelled.` : errorDetail(e);
      notify(cancelled ? `The ${kind} was cancelled` : `The ${kind} failed`, cancelled ? "info" : "error", cancelled ? undefined : this.error);
      return null;
    } finally {
      b.running = false;
      const locked = this.#locking;
      this.#locking = false;
      if (!locked) {
        await this.refresh();
        void this.refreshDevices();
      }
    }
  }
}

export const cloudWork = new CloudWork();
