// Tracing costs nothing unless OTEL_EXPORTER_OTLP_ENDPOINT is set. Off, no
// context manager is installed (AsyncLocalStorage would tax every async step
// on Node 20): an incoming W3C `traceparent` is still read for log lines and
// passed through unchanged to outgoing calls. On, the SDK exports spans over
// OTLP/HTTP and each request runs inside a server span.
import type { Span } from '@opentelemetry/api';
import type { IncomingHttpHeaders } from 'node:http';

export interface Tracing {
  enabled: boolean;
  shutdown(): Promise<void>;
}

/**
 * The OpenTelemetry API, loaded by startTracing only when tracing is on (its
 * forty-odd modules are not paid for otherwise). The API is a process-wide
 * singleton by design: the SDK registers its providers into it.
 */
let otel: typeof import('@opentelemetry/api') | undefined;

export async function startTracing(opts: { otlpEndpoint?: string; serviceName: string; version: string }): Promise<Tracing> {
  if (!opts.otlpEndpoint) return { enabled: false, shutdown: async () => {} };
  otel = await import('@opentelemetry/api');
  // Loaded lazily so that the SDK's module graph is not paid for when tracing is off.
  const [{ NodeSDK }, { OTLPTraceExporter }, { resourceFromAttributes }] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ]);
  const base = opts.otlpEndpoint.replace(/\/+$/, '');
  const sdk = new NodeSDK({
    resource: resourceFromAttributes({ 'service.name': opts.serviceName, 'service.version': opts.version }),
    traceExporter: new OTLPTraceExporter({ url: base.endsWith('/v1/traces') ? base : `${base}/v1/traces` }),
    instrumentations: [],
  });
  sdk.start();
  return { enabled: true, shutdown: () => sdk.shutdown() };
}

function api(): typeof import('@opentelemetry/api') {
  if (!otel) throw new Error('tracing is off: spans are only made when OTEL_EXPORTER_OTLP_ENDPOINT is set');
  return otel;
}
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;

/** Runs `fn` inside a server span whose parent is the caller's `traceparent`, if any. */
export function withServerSpan<T>(name: string, headers: IncomingHttpHeaders, fn: (span: Span) => T): T {
  const { context, propagation, trace, SpanKind } = api();
  const parent = propagation.extract(context.active(), headers);
  return trace.getTracer('storage-control-plane').startActiveSpan(name, { kind: SpanKind.SERVER }, parent, fn);
}

export function endSpan(span: Span, status: number): void {
  span.setAttribute('http.response.status_code', status);
  if (status >= 500) span.setStatus({ code: api().SpanStatusCode.ERROR });
  span.end();
}

/** The trace id of an incoming W3C traceparent header, if it is well formed. */
export function traceIdOf(headers: IncomingHttpHeaders): string | undefined {
  const value = headers.traceparent;
  const m = typeof value === 'string' ? TRACEPARENT.exec(value) : null;
  return m && m[1] !== '00000000000000000000000000000000' ? m[1] : undefined;
}

/**
 * Headers that continue the trace on an outgoing call: the active span's
 * context when tracing is on, else the caller's own traceparent passed through.
 */
export function outgoingTraceHeaders(incoming?: IncomingHttpHeaders): Record<string, string> {
  const carrier: Record<string, string> = {};
  otel?.propagation.inject(otel.context.active(), carrier);
  if (!carrier.traceparent && incoming && traceIdOf(incoming)) carrier.traceparent = incoming.traceparent as string;
  return carrier;
}

/** The trace id of the active context, for log lines; undefined when there is none. */
export function activeTraceId(): string | undefined {
  if (!otel) return undefined;
  const ctx = otel.trace.getSpanContext(otel.context.active());
  return ctx && ctx.traceId !== '00000000000000000000000000000000' ? ctx.traceId : undefined;
}
