// POST /dashboard/login and /dashboard/refresh: the page cannot call the auth
// gateway's port directly (another origin), so the monitoring service forwards
// server-side and hands back the tokens, which the page keeps in the tab's
// sessionStorage: the access token goes out as a Bearer token, the refresh
// token renews it before it expires. Field names are the auth gateway's
// (access_token, token_type, expires_in, refresh_token): one name everywhere.
import { AppError, ErrorCode, Errors } from '../../platform/errors.js';
import type { MonitoringDeps } from './index.js';

type GatewayDeps = Pick<MonitoringDeps, 'healthBoard' | 'config'>;

export interface DashboardSession {
  access_token: string;
  token_type: 'Bearer';
  expires_in?: number;
  refresh_token?: string;
}

function authGatewayUrl(deps: GatewayDeps, path: string): string {
  // The actual port (tests listen on port 0) when the gateway runs in this process.
  const local = deps.healthBoard.snapshot().find((s) => s.service === 'auth-gateway');
  const port = local?.port ?? deps.config.ports['auth-gateway'];
  const host = deps.config.host === '0.0.0.0' || deps.config.host === '::' ? '127.0.0.1' : deps.config.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}${path}`;
}

function upstreamError(message: string, status = 502): AppError {
  return new AppError(ErrorCode.UpstreamUnavailable, message, { status, retriable: true });
}

async function callGateway(
  deps: GatewayDeps,
  path: string,
  body: unknown,
  requestId: string,
  authorization?: string,
): Promise<{ res: Response; body: Record<string, unknown> }> {
  let res: Response;
  try {
    res = await fetch(authGatewayUrl(deps, path), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': requestId, ...(authorization ? { authorization } : {}) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    throw upstreamError(`auth gateway unreachable: ${err instanceof Error ? err.message : String(err)}`);
  }
  return { res, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
}

function sessionOf(body: Record<string, unknown>): DashboardSession {
  const token = body.access_token;
  if (typeof token !== 'string' || token.length === 0) throw upstreamError('auth gateway answered without an access token');
  const expiresIn = body.expires_in;
  const refresh = body.refresh_token;
  return {
    access_token: token,
    token_type: 'Bearer',
    ...(typeof expiresIn === 'number' ? { expires_in: expiresIn } : {}),
    ...(typeof refresh === 'string' ? { refresh_token: refresh } : {}),
  };
}

function rejection(res: Response, body: Record<string, unknown>, unauthorizedMessage: string): AppError {
  if (res.status === 401) return Errors.unauthorized(unauthorizedMessage);
  if (res.status === 403) return Errors.forbidden('this account may not sign in');
  if (res.status === 429) {
    const retryAfter = Number(res.headers.get('retry-after') ?? '1');
    return Errors.rateLimited('too many sign-in attempts', Number.isFinite(retryAfter) ? retryAfter : 1);
  }
  if (res.status >= 400 && res.status < 500) {
    const e = body.error as { message?: unknown } | undefined;
    return Errors.badRequest(typeof e?.message === 'string' ? e.message : 'sign-in rejected');
  }
  return upstreamError(`auth gateway failed (${res.status})`);
}

export async function forwardLogin(deps: GatewayDeps, creds: { username: string; password: string }, requestId: string): Promise<DashboardSession> {
  const { res, body } = await callGateway(deps, '/auth/login', creds, requestId);
  if (!res.ok) throw rejection(res, body, 'invalid username or password');
  const user = body.user as { role?: unknown } | undefined;
  // The dashboard's data is for admins and operators: say so now rather than after a 403 on every poll.
  if (user && user.role !== 'admin' && user.role !== 'operator') throw Errors.forbidden('the dashboard needs an admin or operator account');
  return sessionOf(body);
}

export async function forwardRefresh(deps: GatewayDeps, refreshToken: string, requestId: string): Promise<DashboardSession> {
  const { res, body } = await callGateway(deps, '/auth/refresh', { refresh_token: refreshToken }, requestId);
  if (!res.ok) throw rejection(res, body, 'the session has ended; sign in again');
  return sessionOf(body);
}

/** Revokes the session of the page's access token (its refresh token dies with it). */
export async function forwardLogout(deps: GatewayDeps, authorization: string | undefined, requestId: string): Promise<{ revoked: boolean }> {
  if (!authorization) throw Errors.unauthorized();
  const { res, body } = await callGateway(deps, '/auth/logout', {}, requestId, authorization);
  if (!res.ok) throw rejection(res, body, 'the session has already ended');
  return { revoked: body.revoked === true };
}
