// The two kinds of receiver, as DeliverySend functions over one pooled undici
// agent: Prometheus Alertmanager's v2 API (POST <url>/api/v2/alerts, the body
// Prometheus itself sends) and a generic JSON webhook signed with HMAC-SHA256
// (see webhook-signature.ts). Any non-2xx answer is a failure to retry.
import type { Dispatcher } from 'undici';
import type { OutgoingAlert } from './alert-notifier.js';
import type { DeliverySend } from './delivery-queue.js';
import { signWebhook, WEBHOOK_SIGNATURE_HEADER } from './webhook-signature.js';

export interface ReceiverTarget {
  /** Metric label and log field: kind and host, never the full URL (paths may carry tokens). */
  name: string;
  /** scheme://host:port */
  origin: string;
  /** Path prefix (no trailing slash) the receiver's own path is appended to. */
  pathPrefix: string;
  /** From user:password in the URL, sent as HTTP basic auth instead. */
  authorization?: string;
}

export function receiverTarget(kind: 'alertmanager' | 'webhook', raw: string): ReceiverTarget {
  const u = new URL(raw);
  const authorization =
    u.username || u.password ? `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}` : undefined;
  return { name: `${kind}:${u.host}`, origin: u.origin, pathPrefix: u.pathname.replace(/\/+$/, ''), ...(authorization ? { authorization } : {}) };
}

/** Alertmanager's postableAlert: https://github.com/prometheus/alertmanager/blob/main/api/v2/openapi.yaml */
export function alertmanagerBody(alerts: readonly OutgoingAlert[]): string {
  return JSON.stringify(alerts.map((a) => ({ labels: a.labels, annotations: a.annotations, startsAt: a.startsAt, endsAt: a.endsAt })));
}

/** The webhook's JSON document (version 1). */
export function webhookBody(alerts: readonly OutgoingAlert[], sentAt: number): string {
  return JSON.stringify({
    version: '1',
    sender: 'storage-control-plane',
    sentAt: new Date(sentAt).toISOString(),
    alerts: alerts.map((a) => ({ status: a.status, labels: a.labels, annotations: a.annotations, startsAt: a.startsAt, endsAt: a.endsAt })),
  });
}

export function alertmanagerSend(agent: Dispatcher, target: ReceiverTarget): DeliverySend {
  return (alerts, signal) => post(agent, target, '/api/v2/alerts', alertmanagerBody(alerts), {}, signal);
}

export function webhookSend(agent: Dispatcher, target: ReceiverTarget, secret: string): DeliverySend {
  return (alerts, signal) => {
    // Signed per attempt: a retry after backoff carries a fresh timestamp, so receivers can keep a tight replay window.
    const now = Date.now();
    const body = webhookBody(alerts, now);
    return post(agent, target, '', body, { [WEBHOOK_SIGNATURE_HEADER]: signWebhook(secret, body, Math.floor(now / 1000)) }, signal);
  };
}

async function post(agent: Dispatcher, target: ReceiverTarget, path: string, body: string, headers: Record<string, string>, signal: AbortSignal): Promise<void> {
  const res = await agent.request({
    origin: target.origin,
    path: `${target.pathPrefix}${path}` || '/',
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'storage-control-plane-alerts',
      ...(target.authorization ? { authorization: target.authorization } : {}),
      ...headers,
    },
    body,
    signal,
  });
  if (res.statusCode >= 200 && res.statusCode < 300) {
    await res.body.dump();
    return;
  }
  throw new Error(`HTTP ${res.statusCode}: ${await snippet(res.body)}`);
}

/** The start of an error answer, for the log; the rest is discarded unread. */
async function snippet(body: Dispatcher.ResponseData['body'], max = 300): Promise<string> {
  let text = '';
  try {
    for await (const chunk of body) {
      text += Buffer.from(chunk as Uint8Array).toString('utf8');
      if (text.length >= max) break;
    }
  } catch {
    /* the answer is broken too; the status says enough */
  } finally {
    body.destroy();
  }
  return text.slice(0, max).replace(/\s+/g, ' ').trim();
}
