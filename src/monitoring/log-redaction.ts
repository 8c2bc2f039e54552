// A last line of defence for GET /logs and the dashboard: pino already redacts
// known paths when a line is written; this also masks secret-looking keys at any
// depth and bearer credentials embedded in strings (error messages, URLs).
const SECRET_KEY = /password|passwd|secret|authorization|cookie|api[-_]?key|credential|token$/i;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g;
const JWT = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;
const URL_CREDENTIALS = /\/\/([^/\s:@]+):([^/\s@]+)@/g;
export const REDACTED = '[redacted]';

export function redactValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') {
    return value.replace(BEARER, `$1 ${REDACTED}`).replace(JWT, REDACTED).replace(URL_CREDENTIALS, `//$1:${REDACTED}@`);
  }
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEY.test(k) && v !== null && v !== undefined && v !== REDACTED ? REDACTED : redactValue(v, depth + 1);
  }
  return out;
}

export function redactEntry<T extends object>(entry: T): T {
  return redactValue(entry) as T;
}
