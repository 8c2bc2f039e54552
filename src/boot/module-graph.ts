// A declared module graph, in the spirit of Grafana Mimir's modules.go: every
// module names the modules it needs, how it starts and how it stops. The graph
// is resolved for the chosen targets (the services of SERVICES), so a target
// pulls in exactly its dependencies; modules start as soon as what they need has
// started, stop in reverse order, and the readiness of a target is the health of
// every module it depends on.

export type ModuleState = 'pending' | 'starting' | 'open' | 'failed' | 'stopping' | 'closed' | 'absent';

export interface ModuleHealth {
  state: ModuleState;
  detail?: string;
}

export interface ModuleSpec<Name extends string = string, Value = unknown> {
  readonly name: Name;
  readonly needs: readonly Name[];
  /**
   * Modules used when another target pulls them in, never pulled in for this
   * one (the auth gateway deletes a tenant's data only where the data path runs).
   * Present ones start before this module and stop after it.
   */
  readonly uses?: readonly Name[];
  /** Builds the module from the values of the modules it needs (and only those). */
  start(deps: Readonly<Record<string, unknown>>): Promise<Value> | Value;
  /** Releases what start() acquired. Called once, after every module that needs this one has stopped. */
  stop?(value: Value): Promise<void> | void;
  /** Health of a started module (a connection that comes and goes); started modules are 'open' without it. */
  health?(value: Value): ModuleHealth;
  /** Bound on stop(); a module that takes longer is reported and left behind. */
  readonly stopTimeoutMs?: number;
}

export class ModuleGraphError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModuleGraphError';
  }
}

/**
 * The modules `targets` need, dependencies first (a topological order).
 * Throws ModuleGraphError naming the module for an unknown target, a need that
 * no module declares, or a cycle.
 */
export function resolveModules(specs: readonly ModuleSpec[], targets: readonly string[]): string[] {
  const byName = new Map(specs.map((s) => [s.name, s]));
  // Which modules: the targets and what they need. A module that is only used comes along only if something needs it.
  const members = new Set<string>();
  const collect = (name: string, path: readonly string[]) => {
    const spec = byName.get(name);
    if (!spec) {
      const via = path.length ? `module ${path[path.length - 1]} needs ${name}, which no module declares` : `unknown module ${name}`;
      throw new ModuleGraphError(via);
    }
    if (path.includes(name)) throw new ModuleGraphError(`dependency cycle: ${[...path.slice(path.indexOf(name)), name].join(' -> ')}`);
    if (members.has(name)) return;
    for (const need of spec.needs) collect(need, [...path, name]);
    members.add(name);
  };
  for (const t of targets) collect(t, []);
  // In what order: dependencies first, counting the used modules that are members.
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: readonly string[]) => {
    const seen = state.get(name);
    if (seen === 'done') return;
    if (seen === 'visiting') throw new ModuleGraphError(`dependency cycle: ${[...path.slice(path.indexOf(name)), name].join(' -> ')}`);
    state.set(name, 'visiting');
    for (const dep of edgesOf(byName.get(name)!, members)) visit(dep, [...path, name]);
    state.set(name, 'done');
    order.push(name);
  };
  for (const m of members) visit(m, []);
  return order;
}

/** What a module waits for in this boot: its needs, and the modules it uses that are members. */
function edgesOf(spec: ModuleSpec, members: ReadonlySet<string>): string[] {
  return [...spec.needs, ...(spec.uses ?? []).filter((u) => members.has(u))];
}

/** Every module `name` depends on, directly or not, and itself, in start order. */
export function closureOf(specs: readonly ModuleSpec[], name: string): string[] {
  return resolveModules(specs, [name]);
}

interface Slot {
  spec: ModuleSpec;
  /** Needs plus the used modules present in this boot. */
  edges: readonly string[];
  state: ModuleState;
  detail?: string;
  value?: unknown;
  started?: Promise<unknown>;
}

export interface StopReport {
  module: string;
  outcome: 'stopped' | 'timeout' | 'failed';
  ms: number;
  error?: unknown;
}

/** A resolved graph for one boot: starts, reports and stops its modules. */
export class ModuleGraph {
  readonly order: readonly string[];
  private readonly slots = new Map<string, Slot>();
  private readonly dependents = new Map<string, string[]>();

  constructor(specs: readonly ModuleSpec[], targets: readonly string[]) {
    this.order = resolveModules(specs, targets);
    const byName = new Map(specs.map((s) => [s.name, s]));
    const members = new Set(this.order);
    for (const name of this.order) {
      const spec = byName.get(name)!;
      const edges = edgesOf(spec, members);
      this.slots.set(name, { spec, state: 'pending', edges });
      for (const dep of edges) this.dependents.set(dep, [...(this.dependents.get(dep) ?? []), name]);
    }
  }

  /** What each module needs, for the boot log and /ready. */
  describe(): Record<string, readonly string[]> {
    return Object.fromEntries(this.order.map((n) => [n, this.slots.get(n)!.edges]));
  }

  /**
   * The modules `name` needs, directly or not, and itself. Modules it only uses
   * are left out: they do not decide whether it can answer.
   */
  closure(name: string): string[] {
    const out: string[] = [];
    const seen = new Set<string>();
    const visit = (n: string) => {
      if (seen.has(n)) return;
      seen.add(n);
      for (const need of this.slot(n).spec.needs) visit(need);
      out.push(n);
    };
    visit(name);
    return out;
  }

  /**
   * Starts every module once all it needs has started; independent modules
   * start concurrently. Rejects with the first failure (modules already started
   * stay started: stop() releases them).
   */
  async start(onStarted?: (name: string, ms: number) => void): Promise<void> {
    await Promise.all(this.order.map((n) => this.startOne(n, onStarted)));
  }

  /** Resolves with the module's value once it has started. */
  valueOf<T>(name: string): Promise<T> {
    return this.startOne(name) as Promise<T>;
  }

  private startOne(name: string, onStarted?: (name: string, ms: number) => void): Promise<unknown> {
    const slot = this.slot(name);
    slot.started ??= (async () => {
      const needed = await Promise.all(slot.edges.map(async (n) => [n, await this.startOne(n, onStarted)] as const));
      const began = Date.now();
      slot.state = 'starting';
      try {
        slot.value = await slot.spec.start(Object.freeze(Object.fromEntries(needed)));
      } catch (err) {
        slot.state = 'failed';
        slot.detail = err instanceof Error ? err.message : String(err);
        throw err;
      }
      slot.state = 'open';
      onStarted?.(name, Date.now() - began);
      return slot.value;
    })();
    return slot.started;
  }

  health(name: string): ModuleHealth {
    // A route may name a module this boot does not run: that route cannot answer here.
    if (!this.slots.has(name)) return { state: 'absent', detail: 'not run by this process (see SERVICES)' };
    const slot = this.slot(name);
    if (slot.state !== 'open') return { state: slot.state, ...(slot.detail ? { detail: slot.detail } : {}) };
    return slot.spec.health ? slot.spec.health(slot.value) : { state: 'open' };
  }

  /** True when every named module (and what it needs) is started and healthy. */
  allOpen(names: readonly string[]): boolean {
    return names.every((n) => this.health(n).state === 'open');
  }

  /**
   * Stops started modules, each once every module that needs it has stopped;
   * independent ones stop concurrently. Each stop is bounded by its timeout: a
   * module that overruns is reported and its dependencies stop anyway.
   */
  async stop(defaultTimeoutMs: number, onStopped?: (r: StopReport) => void): Promise<boolean> {
    const done = new Map<string, Promise<boolean>>();
    const stopOne = (name: string): Promise<boolean> => {
      let p = done.get(name);
      if (p) return p;
      p = (async () => {
        const after = await Promise.all((this.dependents.get(name) ?? []).map(stopOne));
        const clean = after.every(Boolean);
        const slot = this.slot(name);
        // A module still starting is waited for (bounded), so nothing is released under it.
        if (slot.state === 'starting') await withTimeout(slot.started?.catch(() => undefined) ?? Promise.resolve(), defaultTimeoutMs);
        if (slot.state !== 'open' || !slot.spec.stop) {
          slot.state = slot.state === 'open' ? 'closed' : slot.state;
          return clean;
        }
        slot.state = 'stopping';
        const began = Date.now();
        const timeoutMs = slot.spec.stopTimeoutMs ?? defaultTimeoutMs;
        try {
          const outcome = await withTimeout(Promise.resolve(slot.spec.stop(slot.value)).then(() => 'stopped' as const), timeoutMs);
          slot.state = 'closed';
          onStopped?.({ module: name, outcome, ms: Date.now() - began });
          return clean && outcome === 'stopped';
        } catch (error) {
          slot.state = 'closed';
          onStopped?.({ module: name, outcome: 'failed', ms: Date.now() - began, error });
          return false;
        }
      })();
      done.set(name, p);
      return p;
    };
    const results = await Promise.all(this.order.map(stopOne));
    return results.every(Boolean);
  }

  private slot(name: string): Slot {
    const slot = this.slots.get(name);
    if (!slot) throw new ModuleGraphError(`module ${name} is not part of this boot`);
    return slot;
  }
}

/** `work`'s outcome, or 'timeout' after `ms`. The timer keeps the process alive: shutdown is not over until it ends. */
async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
