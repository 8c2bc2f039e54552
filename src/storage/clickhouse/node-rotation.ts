// Which node a call goes to: the nodes in turn, skipping one that just failed
// to answer for a short quarantine. A quarantined node is not forgotten: when
// no node is in good standing every node is still tried, soonest-released
// first, because a stale verdict must not turn a recovered cluster into an
// outage. Pure bookkeeping with an injected clock, so it is unit-tested alone.
//
// A node can also be held: left out of rotation, whether or not it answers,
// until someone releases it. Cluster mode holds a node it has not yet checked
// (at start, and after it stopped answering: it may have missed schema
// changes while away) until the node has every table and column.

export interface NodeStanding {
  readonly url: string;
  /** 'quarantined' until quarantinedUntilMs; then 'up' again without a probe. */
  readonly state: 'up' | 'quarantined';
  readonly quarantinedUntilMs?: number;
  /** Why the node was last quarantined (kept after it is released, for the status page). */
  readonly lastError?: string;
  readonly lastErrorAtMs?: number;
  /** Left out of rotation until released, and why. */
  readonly held?: string;
}

interface Slot<T> {
  node: T;
  url: string;
  until: number;
  lastError?: string;
  lastErrorAt?: number;
  held?: string;
}

export class NodeRotation<T> {
  private readonly slots: Slot<T>[];
  private cursor = 0;

  constructor(
    nodes: readonly { url: string; node: T }[],
    private readonly quarantineMs: number,
    private readonly now: () => number = Date.now,
  ) {
    if (nodes.length === 0) throw new Error('NodeRotation needs at least one node');
    this.slots = nodes.map((n) => ({ node: n.node, url: n.url, until: 0 }));
  }

  /**
   * The order to try nodes in for one call: those in good standing from the
   * next in turn, then the quarantined ones, soonest-released first; held
   * nodes only when no other node is left.
   */
  order(): T[] {
    const t = this.now();
    const start = this.cursor;
    this.cursor = (this.cursor + 1) % this.slots.length;
    const rotated = [...this.slots.slice(start), ...this.slots.slice(0, start)];
    const free = rotated.filter((s) => s.held === undefined);
    const up = free.filter((s) => s.until <= t);
    const quarantined = free.filter((s) => s.until > t).sort((a, b) => a.until - b.until);
    const held = rotated.filter((s) => s.held !== undefined);
    const usable = [...up, ...quarantined];
    return (usable.length > 0 ? usable : held).map((s) => s.node);
  }

  /** Leaves the node out of rotation until unhold(); a held node is still quarantined when it fails to answer. */
  hold(node: T, reason: string): void {
    this.slotOf(node).held = reason;
  }

  unhold(node: T): void {
    this.slotOf(node).held = undefined;
  }

  isHeld(node: T): boolean {
    return this.slotOf(node).held !== undefined;
  }

  /** Whether the node is in quarantine now (it did not answer a moment ago). */
  isQuarantined(node: T): boolean {
    return this.slotOf(node).until > this.now();
  }

  /** The node did not answer: skip it for a while. */
  quarantine(node: T, reason: string): void {
    const slot = this.slotOf(node);
    slot.until = this.now() + this.quarantineMs;
    slot.lastError = reason;
    slot.lastErrorAt = this.now();
  }

  /** The node answered: it is in good standing again at once. */
  release(node: T): void {
    this.slotOf(node).until = 0;
  }

  standings(): NodeStanding[] {
    const t = this.now();
    return this.slots.map((s) => ({
      url: s.url,
      state: s.until > t ? 'quarantined' : 'up',
      ...(s.until > t ? { quarantinedUntilMs: s.until } : {}),
      ...(s.lastError !== undefined ? { lastError: s.lastError, lastErrorAtMs: s.lastErrorAt } : {}),
      ...(s.held !== undefined ? { held: s.held } : {}),
    }));
  }

  private slotOf(node: T): Slot<T> {
    const slot = this.slots.find((s) => s.node === node);
    if (!slot) throw new Error('node is not part of this rotation');
    return slot;
  }
}
