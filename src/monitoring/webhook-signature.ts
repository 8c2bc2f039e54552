// The alert webhook's signature, in one header:
//   X-Alert-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(ALERT_WEBHOOK_SECRET, "<t>.<raw body>")>
// The timestamp is inside the signed text, so a receiver that checks it is
// recent (DEFAULT_TOLERANCE_SEC) rejects a captured request replayed later; the
// raw body bytes are signed, so the receiver must verify before parsing JSON.
// verifyWebhookSignature is the reference check for receivers written in TS.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const WEBHOOK_SIGNATURE_HEADER = 'x-alert-signature';
export const DEFAULT_TOLERANCE_SEC = 300;

export function webhookHmac(secret: string, body: string | Buffer, timestamp: number): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

export function signWebhook(secret: string, body: string | Buffer, timestamp: number): string {
  return `t=${timestamp},v1=${webhookHmac(secret, body, timestamp)}`;
}

export type SignatureCheck = { ok: true; timestamp: number } | { ok: false; reason: 'malformed' | 'stale' | 'mismatch' };

export function verifyWebhookSignature(
  secret: string,
  header: string | undefined,
  body: string | Buffer,
  opts: { toleranceSec?: number; nowSec?: number } = {},
): SignatureCheck {
  const m = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!m) return { ok: false, reason: 'malformed' };
  const timestamp = Number(m[1]);
  const now = opts.nowSec ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > (opts.toleranceSec ?? DEFAULT_TOLERANCE_SEC)) return { ok: false, reason: 'stale' };
  const expected = Buffer.from(webhookHmac(secret, body, timestamp), 'hex');
  const given = Buffer.from(m[2]!, 'hex');
  return timingSafeEqual(expected, given) ? { ok: true, timestamp } : { ok: false, reason: 'mismatch' };
}
