// The engine's connection, kept apart from boot: open() is retried in the
// background with backoff, so a ClickHouse that is down at start delays only
// what needs it (the applier, queries) while ingest keeps acknowledging into
// the WAL. Callers wait with whenOpen(); health says where it stands.
import type { Logger } from 'pino';
import type { ClickHouseEngine } from './clickhouse-engine.js';

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
  ) {
    this.opened = new Promise((resolve) => (this.markOpen = resolve));
  }

  /** Starts connecting (idempotent); does not wait for the engine. */
  start(): void {
    this.connecting ??= this.connect();
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
    this.wake?.();
    await this.connecting;
    await this.engine.close();
    this.state = 'closed';
    this.detail = undefined;
  }

  private async connect(): Promise<void> {
    for (let attempt = 1; !this.closed; attempt++) {
      try {
        await this.engine.open();
        if (this.closed) return; // shutdown began while connecting
        this.state = 'open';
        this.detail = undefined;
        this.log.info({ engine: this.engine.kind }, 'clickhouse open');
        this.markOpen();
        return;
      } catch (err) {
        this.state = 'failed';
        this.detail = err instanceof Error ? err.message : String(err);
        this.log.error({ err, attempt }, 'clickhouse unavailable; retrying');
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
}
