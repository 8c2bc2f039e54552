// Forwarding of a service's designated routes to its remote workers (only with
// DISTRIBUTED_MODE=true). Workers come from the service's *_URL list and from
// registrations; each has a circuit breaker, an in-flight count and an active
// health check. A call goes to the least loaded usable worker over a pooled
// undici connection with a hard timeout; a failed call is tried on another
// worker only when that cannot repeat an effect (the route is idempotent, or
// the connection was refused so nothing was sent). A worker's answer reaches the
// client only when it is a 200 that fits the route's response schema: a 4xx (the
// local implementation words its own), a 404/405/501 (the worker does not serve
// the route) or an answer that does not fit is replaced by the local one, and
// the last two (and a refused forward token) mark the route unsupported for that
// worker until it registers again. When no worker can answer, the local
// implementation serves the request (X-Served-By: local); only a route that is
// not idempotent, after a call that may have had an effect, answers 502/504.
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import type { Agent, Dispatcher } from 'undici';
import type { ZodType } from 'zod';
import type { ServiceId } from '../platform/config/schema.js';
import { Errors } from '../platform/errors.js';
import { compileCheck, type SchemaCheck } from '../platform/schema-check.js';
import type { HealthReport } from '../platform/service.js';
import { outgoingTraceHeaders } from '../platform/tracing.js';
import { CircuitBreaker, type BreakerState } from './circuit-breaker.js';
import { designatedRoutesOf, routeKey, type DesignatedRoute } from './designated-routes.js';
import { BREAKER_STATE_VALUE, type WorkerMetrics } from './metrics.js';
import type { WorkerRecord, WorkerRegistry } from './worker-registry.js';

export interface ForwarderSettings {
  timeoutMs: number;
  retries: number;
  healthIntervalMs: number;
  breakerFailures: number;
  breakerOpenMs: number;
}

/** One upstream worker as the forwarder sees it. */
export class WorkerEndpoint {
  id: string;
  forwardToken?: string;
  /** Route keys it serves; undefined = all designated routes of its service (static workers). */
  routes?: Set<string>;
  /** Route keys it answered 404/405/501, a misfit or a refusal for: not sent there until it registers again. */
  readonly unsupported = new Map<string, string>();
  capacity = 64;
  healthy = true;
  lastError?: string;
  inFlight = 0;
  readonly breaker: CircuitBreaker;

  constructor(
    readonly origin: string,
    id: string,
    settings: ForwarderSettings,
    onState: (ep: WorkerEndpoint, s: BreakerState) => void,
  ) {
    this.id = id;
    this.breaker = new CircuitBreaker({ failureThreshold: settings.breakerFailures, openMs: settings.breakerOpenMs }, (s) => onState(this, s));
  }

  serves(key: string): boolean {
    return (this.routes === undefined || this.routes.has(key)) && !this.unsupported.has(key);
  }

  get usable(): boolean {
    return this.healthy && this.breaker.allows;
  }
}

/** Why a request of a designated route was answered locally (label of worker_fallback_total). */
export type FallbackReason =
  | 'no_worker'
  | 'timeout'
  | 'connect_error'
  | 'error'
  | 'http_5xx'
  /** 404, 405 or 501: the worker does not serve the route. */
  | 'unsupported'
  /** A 2xx that is not the route's 200 JSON answer. */
  | 'invalid_answer'
  /** 401 or 403: the worker refused the control plane's forward token. */
  | 'refused'
  /** Any other 4xx: the local implementation gives its own answer to bad input. */
  | 'http_4xx';

type CallOutcome =
  | { kind: 'response'; status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }
  | { kind: 'timeout' | 'connect_error' | 'error'; message: string };

const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);
const PASSED_RESPONSE_HEADERS = ['content-type', 'cache-control', 'retry-after'];

function originOf(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}`;
}

function errorCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 4 && e && typeof e === 'object'; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET' && code !== 'UND_ERR_ABORTED') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return (err as { code?: string } | undefined)?.code;
}

export class ServiceForwarder {
  private readonly endpoints = new Map<string, WorkerEndpoint>();
  private readonly routes: Map<string, DesignatedRoute>;
  private healthTimer?: NodeJS.Timeout;
  private rr = 0;
  private checking = false;
  private readonly metricChildren = new Map<string, { forwarded: { inc(): void }; duration: { observe(v: number): void } }>();

  constructor(
    readonly service: ServiceId,
    private readonly staticUrls: readonly string[],
    private readonly deps: {
      agent: Agent;
      settings: ForwarderSettings;
      metrics: WorkerMetrics;
      logger: Logger;
      registry?: WorkerRegistry;
    },
  ) {
    this.routes = new Map(designatedRoutesOf(service).map((r) => [routeKey(r.method, r.path), r]));
    this.refresh();
    deps.registry?.onChange(() => this.refresh());
  }

  designated(method: string, path: string): DesignatedRoute | undefined {
    return this.routes.get(routeKey(method, path));
  }

  /** Rebuilds the endpoint list from the static URLs and live registrations, keeping breakers by origin. */
  refresh(): void {
    const wanted = new Map<string, { id: string; reg?: WorkerRecord }>();
    for (const url of this.staticUrls) {
      const origin = originOf(url);
      wanted.set(origin, { id: new URL(origin).host });
    }
    for (const reg of this.deps.registry?.live(this.service) ?? []) {
      wanted.set(originOf(reg.url), { id: reg.id, reg });
    }
    for (const origin of [...this.endpoints.keys()]) {
      if (!wanted.has(origin)) {
        this.deps.metrics.breakerState.remove({ service: this.service, worker: this.endpoints.get(origin)!.id });
        this.endpoints.delete(origin);
      }
    }
    for (const [origin, { id, reg }] of wanted) {
      let ep = this.endpoints.get(origin);
      if (!ep) {
        ep = new WorkerEndpoint(origin, id, this.deps.settings, (e, s) => this.breakerChanged(e, s));
        this.endpoints.set(origin, ep);
      } else if (ep.id !== id) {
        this.deps.metrics.breakerState.remove({ service: this.service, worker: ep.id });
        ep.id = id;
      }
      const isStatic = this.staticUrls.some((u) => originOf(u) === origin);
      // A new registration is a new worker process: what the old one did not serve is asked again.
      if (reg && reg.forwardToken !== ep.forwardToken) ep.unsupported.clear();
      ep.forwardToken = reg?.forwardToken;
      ep.capacity = reg?.capacity ?? 64;
      ep.routes = reg && !isStatic ? new Set(reg.routes.map((r) => routeKey(r.method, r.path))) : undefined;
      this.deps.metrics.breakerState.set({ service: this.service, worker: ep.id }, BREAKER_STATE_VALUE[ep.breaker.state]);
    }
  }

  private breakerChanged(ep: WorkerEndpoint, state: BreakerState): void {
    this.deps.metrics.breakerState.set({ service: this.service, worker: ep.id }, BREAKER_STATE_VALUE[state]);
    this.deps.logger[state === 'closed' ? 'info' : 'warn'](
      { service: this.service, worker: ep.id, url: ep.origin, breaker: state, lastError: ep.lastError },
      `worker circuit ${state}`,
    );
  }

  /** Least loaded usable worker serving the route, round-robin among equals; undefined when none. */
  private pick(key: string, exclude: Set<WorkerEndpoint>): WorkerEndpoint | undefined {
    let best: WorkerEndpoint | undefined;
    let bestLoad = Infinity;
    const all = [...this.endpoints.values()];
    const n = all.length;
    const start = this.rr++ % Math.max(1, n);
    for (let i = 0; i < n; i++) {
      const ep = all[(start + i) % n]!;
      if (exclude.has(ep) || !ep.serves(key) || !ep.usable) continue;
      const load = ep.inFlight / ep.capacity;
      if (load < bestLoad) {
        best = ep;
        bestLoad = load;
      }
    }
    return best;
  }

  hasWorkers(): boolean {
    return this.endpoints.size > 0;
  }

  /**
   * Serves `req` through a worker whose answer fits `answer` (the route's
   * response schema). Resolves true when the response was written, false when
   * the caller should serve it locally; throws an upstream error only for a
   * route that is not idempotent after a call that may have had an effect.
   */
  async forward(req: Request, res: Response, route: DesignatedRoute, answer: ZodType): Promise<boolean> {
    const key = routeKey(route.method, route.path);
    const tried = new Set<WorkerEndpoint>();
    const maxAttempts = 1 + this.deps.settings.retries;
    let last: CallOutcome | undefined;
    let lastWorker: WorkerEndpoint | undefined;
    let sentSomething = false;
    let reason: FallbackReason | undefined;
    while (tried.size < maxAttempts) {
      const ep = this.pick(key, tried);
      if (!ep) break;
      tried.add(ep);
      if (!ep.breaker.tryAcquire()) continue;
      const outcome = await this.call(ep, req, res);
      lastWorker = ep;
      last = outcome;
      if (outcome.kind === 'response' && (outcome.status < 500 || outcome.status === 501)) {
        // It answered: alive, whatever it said.
        ep.breaker.onSuccess();
        const verdict = this.judge(ep, key, outcome, answer);
        if (verdict === undefined) {
          this.send(res, ep, outcome);
          return true;
        }
        reason = verdict;
        // A worker that does not serve the route did nothing; anything else may have.
        if (verdict !== 'unsupported') sentSomething = true;
        break;
      }
      if (res.destroyed) {
        ep.breaker.release();
        return true;
      }
      ep.breaker.onFailure();
      ep.lastError = outcome.kind === 'response' ? `HTTP ${outcome.status}` : `${outcome.kind}: ${outcome.message}`;
      if (outcome.kind !== 'connect_error') sentSomething = true;
      // Only what cannot repeat an effect goes to another worker.
      if (!route.idempotent && outcome.kind !== 'connect_error') break;
    }
    if (route.idempotent || !sentSomething) {
      reason ??= last === undefined ? 'no_worker' : last.kind === 'response' ? 'http_5xx' : last.kind;
      this.deps.metrics.fallbacks.inc({ service: this.service, reason });
      res.setHeader('X-Served-By', 'local');
      return false;
    }
    const where = `${route.method.toUpperCase()} ${route.path}`;
    const details = { service: this.service, worker: lastWorker!.id, attempts: tried.size };
    if (last!.kind === 'timeout') {
      throw Errors.upstreamTimeout(`${this.service} worker ${lastWorker!.id} did not answer ${where} within ${this.deps.settings.timeoutMs} ms`, details);
    }
    if (last!.kind === 'response') {
      throw Errors.upstreamFailed(`${this.service} worker ${lastWorker!.id} answered ${where} with HTTP ${last!.status}${reason ? ` (${reason})` : ''}`, {
        ...details,
        status: last!.status,
      });
    }
    throw Errors.upstreamFailed(`${this.service} worker ${lastWorker!.id} failed ${where}: ${last!.message}`, details);
  }

  /**
   * Whether a worker's answer may reach the client: undefined when it is a 200
   * that fits the response schema, else why not (and, where the worker cannot
   * serve the route, the route is marked unsupported for it).
   */
  private judge(ep: WorkerEndpoint, key: string, outcome: Extract<CallOutcome, { kind: 'response' }>, answer: ZodType): FallbackReason | undefined {
    const { status } = outcome;
    let verdict: FallbackReason;
    let why: string;
    if (status === 404 || status === 405 || status === 501) {
      verdict = 'unsupported';
      why = `HTTP ${status}`;
    } else if (status === 401 || status === 403) {
      verdict = 'refused';
      why = `HTTP ${status}: the forward token was refused`;
    } else if (status >= 400) {
      return 'http_4xx';
    } else {
      const misfit = misfitOf(outcome, answer);
      if (misfit === undefined) return undefined;
      verdict = 'invalid_answer';
      why = misfit;
    }
    if (!ep.unsupported.has(key)) {
      ep.unsupported.set(key, why);
      this.deps.logger.warn(
        { service: this.service, worker: ep.id, url: ep.origin, route: key, reason: verdict, detail: why },
        'worker answer not passed on: the route is served locally and not sent to this worker until it registers again',
      );
    }
    return verdict;
  }

  private async call(ep: WorkerEndpoint, req: Request, res: Response): Promise<CallOutcome> {
    const timeoutMs = this.deps.settings.timeoutMs;
    const started = process.hrtime.bigint();
    ep.inFlight++;
    const outcome = await new Promise<CallOutcome>((resolve) => {
      // dispatch() rather than request(): no body stream or AbortSignal per call, the response is small and read whole.
      let controller: Dispatcher.DispatchController | undefined;
      let settled = false;
      let status = 0;
      let headers: Record<string, string | string[] | undefined> = {};
      const chunks: Buffer[] = [];
      const settle = (o: CallOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        res.off('close', onClientGone);
        resolve(o);
      };
      const stop = (o: { kind: 'timeout' | 'error'; message: string }) => {
        settle(o);
        controller?.abort(new Error(o.message));
      };
      const timer = setTimeout(() => stop({ kind: 'timeout', message: `no answer within ${timeoutMs} ms` }), timeoutMs);
      // The client went away: stop the upstream call too.
      const onClientGone = () => stop({ kind: 'error', message: 'client closed the connection' });
      res.once('close', onClientGone);
      this.deps.agent.dispatch(
        { origin: ep.origin, path: req.originalUrl, method: req.method as Dispatcher.HttpMethod, headers: this.headersFor(ep, req), body: bodyOf(req), headersTimeout: timeoutMs, bodyTimeout: timeoutMs },
        {
          onRequestStart: (c) => {
            controller = c;
            if (settled) c.abort(new Error('call already ended'));
          },
          onResponseStart: (_c, statusCode, h) => {
            status = statusCode;
            headers = h as typeof headers;
          },
          onResponseData: (_c, chunk) => {
            chunks.push(chunk);
          },
          onResponseEnd: () => settle({ kind: 'response', status, headers, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) }),
          onResponseError: (_c, err) => {
            const code = errorCode(err);
            const message = `${code ? `${code} ` : ''}${err.message}`;
            settle({ kind: code && CONNECT_ERRORS.has(code) ? 'connect_error' : 'error', message });
          },
        },
      );
    });
    ep.inFlight--;
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const label = outcome.kind === 'response' ? (outcome.status >= 500 ? 'http_5xx' : 'ok') : outcome.kind;
    const metrics = this.metricsOf(ep, label);
    metrics.forwarded.inc();
    metrics.duration.observe(seconds);
    return outcome;
  }

  /** Labelled metric children per (worker, outcome): resolving labels on every call costs more than the call's bookkeeping. */
  private metricsOf(ep: WorkerEndpoint, outcome: string) {
    const key = `${ep.id}\u0000${outcome}`;
    let m = this.metricChildren.get(key);
    if (!m) {
      m = {
        forwarded: this.deps.metrics.forwarded.labels({ service: this.service, worker: ep.id, outcome }),
        duration: this.deps.metrics.forwardDuration.labels({ service: this.service, worker: ep.id }),
      };
      this.metricChildren.set(key, m);
    }
    return m;
  }

  private headersFor(ep: WorkerEndpoint, req: Request): Record<string, string> {
    const h: Record<string, string> = {
      'x-request-id': req.requestId,
      'x-forwarded-for': req.socket.remoteAddress ?? '',
      ...outgoingTraceHeaders(req.headers),
    };
    const tenant = req.tenantId ?? req.headers['x-tenant-id'];
    if (typeof tenant === 'string') h['x-tenant-id'] = tenant;
    // The caller's own credential never leaves the control plane: the worker gets the control plane's, and who the caller was.
    if (ep.forwardToken) h.authorization = `Bearer ${ep.forwardToken}`;
    if (req.principal) {
      h['x-principal'] = `${req.principal.kind}:${req.principal.subject}`;
      h['x-principal-role'] = req.principal.role;
    }
    const type = req.headers['content-type'];
    if (type && req.method !== 'GET' && req.method !== 'HEAD') h['content-type'] = type;
    if (req.headers.accept) h.accept = req.headers.accept;
    return h;
  }

  private send(res: Response, ep: WorkerEndpoint, outcome: Extract<CallOutcome, { kind: 'response' }>): void {
    res.status(outcome.status);
    for (const name of PASSED_RESPONSE_HEADERS) {
      const v = outcome.headers[name];
      if (v !== undefined) res.setHeader(name, v);
    }
    res.setHeader('X-Served-By', ep.id);
    res.end(outcome.body);
  }

  // ---- active health checks ----

  start(): void {
    if (this.healthTimer) return;
    const tick = () => {
      void this.checkAll().finally(() => {
        if (this.healthTimer) this.healthTimer = setTimeout(tick, this.deps.settings.healthIntervalMs).unref();
      });
    };
    this.healthTimer = setTimeout(tick, 0).unref();
  }

  stop(): void {
    if (this.healthTimer) clearTimeout(this.healthTimer);
    this.healthTimer = undefined;
  }

  async checkAll(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      await Promise.all([...this.endpoints.values()].map((ep) => this.check(ep)));
    } finally {
      this.checking = false;
    }
  }

  private async check(ep: WorkerEndpoint): Promise<void> {
    const state = ep.breaker.state;
    // While open the worker gets a rest; the first check after it is the half-open trial.
    if (state === 'open') return;
    const trial = state === 'half-open';
    if (trial && !ep.breaker.tryAcquire()) return;
    let ok = false;
    let why = '';
    try {
      const r = await this.deps.agent.request({
        origin: ep.origin,
        path: '/health',
        method: 'GET',
        headers: ep.forwardToken ? { authorization: `Bearer ${ep.forwardToken}` } : {},
        signal: AbortSignal.timeout(Math.min(this.deps.settings.timeoutMs, 2000)),
      });
      await r.body.dump();
      ok = r.statusCode === 200;
      why = `health check HTTP ${r.statusCode}`;
    } catch (err) {
      why = `health check failed: ${errorCode(err) ?? (err instanceof Error ? err.message : String(err))}`;
    }
    this.deps.metrics.healthChecks.inc({ service: this.service, worker: ep.id, outcome: ok ? 'ok' : 'failed' });
    if (ok) {
      if (!ep.healthy) {
        this.deps.logger.info({ service: this.service, worker: ep.id }, 'worker healthy again');
        // Back after being down: possibly another program now, so routes it did not serve are asked again.
        ep.unsupported.clear();
      }
      ep.healthy = true;
      if (trial || ep.breaker.state === 'closed') ep.breaker.onSuccess();
    } else {
      if (ep.healthy) this.deps.logger.warn({ service: this.service, worker: ep.id, reason: why }, 'worker unhealthy');
      ep.healthy = false;
      ep.lastError = why;
      ep.breaker.onFailure();
    }
  }

  // ---- health report ----

  health(): HealthReport {
    const reasons: string[] = [];
    let usable = 0;
    for (const ep of this.endpoints.values()) {
      const state = ep.breaker.state;
      if (ep.healthy && state === 'closed') {
        usable++;
        continue;
      }
      if (ep.usable) usable++;
      reasons.push(`worker ${ep.id} (${ep.origin}) ${ep.healthy ? 'healthy' : 'unhealthy'}, circuit ${state}${ep.lastError ? `: ${ep.lastError}` : ''}`);
    }
    for (const ep of this.endpoints.values()) {
      for (const [route, why] of ep.unsupported) {
        reasons.push(`worker ${ep.id} (${ep.origin}) is not sent ${route} until it registers again (${why}): served locally`);
      }
    }
    for (const w of this.deps.registry?.list() ?? []) {
      if (w.service === this.service && w.status === 'expired') reasons.push(`worker ${w.id} (${w.url}) expired: no heartbeat for ${Math.round(w.heartbeatAgeMs / 1000)} s`);
    }
    if (this.endpoints.size > 0 && usable === 0) reasons.push('no worker available: designated routes are served locally');
    return reasons.length > 0 ? { status: 'degraded', reasons } : { status: 'ok' };
  }

  /** For status pages. */
  snapshot() {
    return [...this.endpoints.values()].map((ep) => ({
      id: ep.id,
      url: ep.origin,
      healthy: ep.healthy,
      circuit: ep.breaker.state,
      inFlight: ep.inFlight,
      lastError: ep.lastError,
      unsupported: Object.fromEntries(ep.unsupported),
    }));
  }
}

/** Each response schema's check, compiled once (zod's own parse copies every object: too slow for every answer). */
const answerChecks = new WeakMap<ZodType, SchemaCheck>();

/** Why a worker's 2xx is not the route's answer, or undefined when it is. */
function misfitOf(outcome: Extract<CallOutcome, { kind: 'response' }>, answer: ZodType): string | undefined {
  if (outcome.status !== 200) return `HTTP ${outcome.status} where the route answers 200`;
  const type = outcome.headers['content-type'];
  if (typeof type !== 'string' || !/^application\/json\b/i.test(type)) return `content type ${String(type)} where the route answers application/json`;
  let body: unknown;
  try {
    body = JSON.parse(outcome.body.toString('utf8'));
  } catch {
    return 'a body that is not JSON';
  }
  let check = answerChecks.get(answer);
  if (!check) answerChecks.set(answer, (check = compileCheck(answer)));
  const misfit = check(body);
  return misfit === undefined ? undefined : `an answer that does not fit the route's response schema (${misfit})`;
}

function bodyOf(req: Request): Buffer | string | undefined {
  if (req.method === 'GET' || req.method === 'HEAD') return undefined;
  if (req.rawBody) return req.rawBody;
  const b: unknown = req.body;
  if (b === undefined) return undefined;
  return typeof b === 'string' ? b : JSON.stringify(b);
}
