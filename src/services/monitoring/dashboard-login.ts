// POST /dashboard/login: the page cannot call the auth gateway's port directly
// (another origin), so the monitoring service forwards the credentials
// server-side and hands back only the access token, which the page keeps in
// sessionStorage and sends as a Bearer token.
import { AppError, ErrorCode, Errors } from '../../platform/errors.js';
import type { ServiceDeps } from '../service-deps.js';

export interface LoginResult {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn?: number;
}

function authGatewayUrl(deps: ServiceDeps): string {
  // The actual port (tests listen on port 0) when the gateway runs in this process.
  const local = deps.healthBoard.snapshot().find((s) => s.service === 'auth-gateway');
  const port = local?.port ?? deps.config.ports['auth-gateway'];
  const host = deps.config.host === '0.0.0.0' || deps.config.host === '::' ? '127.0.0.1' : deps.config.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}/auth/login`;
}

function upstreamError(message: string, status = 502): AppError {
  return new AppError(ErrorCode.UpstreamUnavailable, message, { status, retriable: true });
}

export async function forwardLogin(deps: ServiceDeps, creds: { username: string; password: string }, requestId: string): Promise<LoginResult> {
  let res: Response;
  try {
    res = await fetch(authGatewayUrl(deps), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': requestId },
      body: JSON.stringify(creds),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    throw upstreamError(`auth gateway unreachable: ${err instanceof Error ? err.message : String(err)}`);
  }
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (res.ok) {
    const token = body.accessToken ?? body.access_token ?? body.token;
    if (typeof token !== 'string' || token.length === 0) throw upstreamError('auth gateway answered without an access token');
    const expiresIn = body.expiresIn ?? body.expires_in;
    return { accessToken: token, tokenType: 'Bearer', ...(typeof expiresIn === 'number' ? { expiresIn } : {}) };
  }
  if (res.status === 401 || res.status === 403) throw Errors.unauthorized('invalid username or password');
  if (res.status === 429) {
    const retryAfter = Number(res.headers.get('retry-after') ?? '1');
    throw Errors.rateLimited('too many login attempts', Number.isFinite(retryAfter) ? retryAfter : 1);
  }
  if (res.status >= 400 && res.status < 500) {
    const e = body.error as { message?: unknown } | undefined;
    throw Errors.badRequest(typeof e?.message === 'string' ? e.message : 'login rejected');
  }
  throw upstreamError(`auth gateway failed (${res.status})`);
}
