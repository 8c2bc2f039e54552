// Auth metrics: why requests were refused, how logins and refreshes went, and
// how often API-key checks hit the cache (a miss costs a scrypt).
import { Counter, type Registry } from 'prom-client';

export type RejectReason =
  | 'missing'
  | 'malformed'
  | 'invalid_token'
  | 'expired'
  | 'not_yet_valid'
  | 'revoked_session'
  | 'invalid_api_key'
  | 'forbidden';

export class AuthMetrics {
  readonly rejections: Counter<'reason'>;
  readonly logins: Counter<'outcome'>;
  readonly refreshes: Counter<'outcome'>;
  readonly apiKeyChecks: Counter<'cache'>;

  constructor(registry?: Registry) {
    const registers = registry ? [registry] : [];
    this.rejections = new Counter({ name: 'auth_rejections_total', help: 'Requests refused by the auth guard, by reason', labelNames: ['reason'], registers });
    this.logins = new Counter({ name: 'auth_logins_total', help: 'Login attempts by outcome (success, bad_credentials, locked, disabled)', labelNames: ['outcome'], registers });
    this.refreshes = new Counter({ name: 'auth_refreshes_total', help: 'Refresh-token uses by outcome (rotated, reused, rejected)', labelNames: ['outcome'], registers });
    this.apiKeyChecks = new Counter({ name: 'auth_api_key_checks_total', help: 'API-key verifications by cache result (a miss runs scrypt)', labelNames: ['cache'], registers });
  }
}
