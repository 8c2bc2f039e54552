// Group commit: while one flush (a durable write) is in flight, new submissions
// queue up; when it finishes, everything that queued is flushed together by ONE
// call. No timer: under load the batch grows by itself to whatever arrived during
// the previous fsync, and an idle log pays no added latency.
//
// A failed flush poisons the committer: that batch, everything queued behind it
// and every later submission reject with the same error. After a failed fsync the
// kernel may have dropped the dirty pages, so retrying could acknowledge data that
// never reaches disk; only a restart (replay from disk) is trustworthy.

interface Waiter<T> {
  item: T;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class GroupCommitter<T> {
  private queue: Array<Waiter<T>> = [];
  private running: Promise<void> | undefined;
  private failure: unknown;
  private failed = false;

  constructor(private readonly flush: (batch: T[]) => Promise<void>) {}

  /** The error that poisoned the committer, if any. */
  get error(): unknown {
    return this.failure;
  }

  get isFailed(): boolean {
    return this.failed;
  }

  /** Resolves once `item` has been flushed as part of some batch. */
  submit(item: T): Promise<void> {
    if (this.failed) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.running ??= this.run();
    });
  }

  /** Resolves when nothing is queued or in flight (never rejects). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async run(): Promise<void> {
    // Yield one microtask so submissions made in the same tick share the first flush.
    await Promise.resolve();
    while (this.queue.length > 0 && !this.failed) {
      const batch = this.queue;
      this.queue = [];
      try {
        await this.flush(batch.map((w) => w.item));
      } catch (err) {
        this.failed = true;
        this.failure = err;
        for (const w of batch) w.reject(err);
        for (const w of this.queue) w.reject(err);
        this.queue = [];
        break;
      }
      for (const w of batch) w.resolve();
    }
    this.running = undefined;
  }
}
