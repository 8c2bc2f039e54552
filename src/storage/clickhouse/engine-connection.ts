// The engine's connection, kept apart from boot: open() is retried in the
// background with backoff, so a ClickHouse that is down at start delays only
// what needs it (the applier, queries) while ingest keeps acknowledging into
// the WAL. Callers wait with whenOpen(); health says where it stands.
//
// `prepare` runs once, right after the first successful open and before anyone
// is told the engine is open (the old-layout migration). An error it marks as
// fatal is never retried: the first attempt is made during boot and fails it;
// on a later attempt the connection stays failed and logs why.
//
// In cluster mode the connection carries the cluster runtime (its prepare is
// the cluster's), so what needs the cluster finds it beside the engine.
import type { Logger } from 'pino';
import type { ClickHouseEngine } from './clickhouse-engine.js';
import type { ClickHouseCluster } from './cluster-runtime.js';

export type ConnectionState = 'pending' | 'open' | 'failed' | 'closed';

export class EngineConnection {
  private state: ConnectionState = 'pending';
  private detail?: string = 'connecting';
  private closed = false;
  private connecting?: Promise<void>;
  private readonly opened: Promise<void>;
  private markOpen!: () => void;
  private wake?: () => void;

  constructor(
    readonly engine: ClickHouseEngine,
    private readonly log: Logger,
    private readonly prepare?: { run: (engine: ClickHouseEngine) => Promise<unknown>; isFatal: (err: unknown) => boolean },
    /** Cluster mode: the cluster behind `engine`. */
    readonly cluster?: ClickHouseCluster,
  ) {
    this.opened = new Promise((resolve) => (this.markOpen = resolve));
  }

  /**
   * Makes a first attempt and then keeps trying in the background; resolves
   * after the first attempt either way. Rejects only when `prepare` failed fatally.
   */
  async start(): Promise<void> {
    if (this.connecting) return;
    if (await this.attempt(1)) {
      this.connecting = Promise.resolve();
      return;
    }
    if (this.fatal) throw this.fatal;
    this.connecting = this.connect(2);
  }

  /** Resolves once the engine is open; never, if the process stops first. */
  whenOpen(): Promise<void> {
    return this.opened;
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  health(): { state: ConnectionState; detail?: string } {
    return this.detail ? { state: this.state, detail: this.detail } : { state: this.state };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.connecting ??= Promise.resolve();
    this.wake?.();
    await this.connecting;
    this.cluster?.stop();
    await this.engine.close();
    this.state = 'closed';
    this.detail = undefined;
  }

  private fatal?: unknown;

  /** One try: open, prepare, mark open. False when it failed (fatal or not). */
  private async attempt(attempt: number): Promise<boolean> {
    try {
      await this.engine.open();
      await this.prepare?.run(this.engine);
      if (this.closed) return true; // shutdown began while connecting
      this.state = 'open';
      this.detail = undefined;
      this.log.info({ engine: this.engine.kind }, 'clickhouse open');
      this.markOpen();
      return true;
    } catch (err) {
      this.state = 'failed';
      this.detail = err instanceof Error ? err.message : String(err);
      if (this.prepare?.isFatal(err)) {
        this.fatal = err;
        this.log.fatal({ err }, 'clickhouse cannot be used as it is; the applier stays stopped');
      } else {
        this.log.error({ err, attempt }, 'clickhouse unavailable; retrying');
      }
      return false;
    }
  }

  private async connect(first: number): Promise<void> {
    for (let attempt = first; !this.closed && !this.fatal; attempt++) {
      if (await this.attempt(attempt)) return;
      if (this.fatal) return;
      // close() cuts the backoff short.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(10_000, 250 * 2 ** Math.min(attempt, 6)));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
}
