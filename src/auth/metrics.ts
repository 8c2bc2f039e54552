// Auth metrics: why requests were refused, how logins and refreshes went, and
// how often API-key checks hit the cache (a miss costs a scrypt).
import { Counter, Gauge, type Registry } from 'prom-client';

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
  // Upkeep (auth-maintenance.ts): what the state store holds, as of the last pass.
  readonly sessions: Gauge;
  readonly sessionsPruned: Counter;
  readonly loginCounters: Gauge<'state'>;
  readonly maintenanceRuns: Counter<'outcome'>;

  constructor(registry?: Registry) {
    const registers = registry ? [registry] : [];
    this.rejections = new Counter({ name: 'auth_rejections_total', help: 'Requests refused by the auth guard, by reason', labelNames: ['reason'], registers });
    this.logins = new Counter({ name: 'auth_logins_total', help: 'Login attempts by outcome (success, bad_credentials, locked, disabled)', labelNames: ['outcome'], registers });
    this.refreshes = new Counter({ name: 'auth_refreshes_total', help: 'Refresh-token uses by outcome (rotated, reused, rejected)', labelNames: ['outcome'], registers });
    this.apiKeyChecks = new Counter({ name: 'auth_api_key_checks_total', help: 'API-key verifications by cache result (a miss runs scrypt)', labelNames: ['cache'], registers });
    this.sessions = new Gauge({ name: 'auth_sessions', help: 'Live session records in the state store, counted by the last maintenance pass', registers });
    this.sessionsPruned = new Counter({ name: 'auth_sessions_pruned_total', help: 'Ended sessions (refresh expired or revoked) deleted by the maintenance loop', registers });
    this.loginCounters = new Gauge({
      name: 'auth_login_counters',
      help: 'Failed-login counters kept in the state store at the last maintenance pass, by state (counting, locked)',
      labelNames: ['state'],
      registers,
    });
    this.maintenanceRuns = new Counter({ name: 'auth_maintenance_runs_total', help: 'Passes of the session and login-counter maintenance loop, by outcome', labelNames: ['outcome'], registers });
  }
}
