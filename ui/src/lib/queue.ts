// Work that waits its turn: a drop while an import, export or verify runs is
// queued and starts when the running work finishes, in the order dropped.

export class ImportQueue {
  #pending: string[][] = [];

  get length(): number {
    return this.#pending.length;
  }

  /** Queues a batch of paths; returns how many batches now wait. */
  push(paths: string[]): number {
    if (paths.length) this.#pending.push([...paths]);
    return this.#pending.length;
  }

  /** The next batch to start, or null. */
  next(): string[] | null {
    return this.#pending.shift() ?? null;
  }

  /** Paths queued in all, for the tray. */
  get paths(): number {
    return this.#pending.reduce((n, p) => n + p.length, 0);
  }

  clear(): void {
    this.#pending = [];
  }
}
