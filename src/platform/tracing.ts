// Tracing costs nothing unless OTEL_EXPORTER_OTLP_ENDPOINT is set: without it we
// install only the W3C propagator and an AsyncLocalStorage context manager, so an
// incoming `traceparent` is still accepted and passed on to outgoing calls.
import { context, propagation, trace, SpanKind, SpanStatusCode, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { IncomingHttpHeaders } from 'node:http';

export interface Tracing {
  enabled: boolean;
  shutdown(): Promise<void>;
}

export async function startTracing(opts: { otlpEndpoint?: string; serviceName: string; version: string }): Promise<Tracing> {
  if (!opts.otlpEndpoint) {
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    return { enabled: false, shutdown: async () => manager.disable() as unknown as void };
  }
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

const tracer = () => trace.getTracer('storage-control-plane');

/** Runs `fn` inside a server span whose parent is the caller's `traceparent`, if any. */
export function withServerSpan<T>(name: string, headers: IncomingHttpHeaders, fn: (span: Span) => T): T {
  const parent = propagation.extract(context.active(), headers);
  return tracer().startActiveSpan(name, { kind: SpanKind.SERVER }, parent, fn);
}

export function endSpan(span: Span, status: number): void {
  span.setAttribute('http.response.status_code', status);
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}

/** Headers to put on an outgoing call so the trace continues downstream. */
export function outgoingTraceHeaders(): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}

/** The trace id of the active context, for log lines; undefined when there is none. */
export function activeTraceId(): string | undefined {
  const ctx = trace.getSpanContext(context.active());
  return ctx && ctx.traceId !== '00000000000000000000000000000000' ? ctx.traceId : undefined;
}
