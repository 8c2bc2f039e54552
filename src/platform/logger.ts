// pino JSON logs to stdout plus the in-memory buffer behind GET /logs.
// Secrets are removed by redaction paths, not by every caller being careful.
import pino, { type Logger } from 'pino';
import { LogBuffer } from './log-buffer.js';

export type { Logger } from 'pino';

export const REDACT_PATHS = [
  'password',
  '*.password',
  'token',
  '*.token',
  'refreshToken',
  '*.refreshToken',
  'refresh_token',
  '*.refresh_token',
  'access_token',
  '*.access_token',
  'req.body.password',
  'req.body.refresh_token',
  'passwordHash',
  '*.passwordHash',
  'apiKey',
  '*.apiKey',
  'secret',
  '*.secret',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'headers.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers["x-api-key"]',
  'request.headers.authorization',
];

export const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

export interface LoggingSetup {
  logger: Logger;
  buffer: LogBuffer;
}

export function createLogging(opts: { level: string; bufferEntries: number; version: string }): LoggingSetup {
  const buffer = new LogBuffer(opts.bufferEntries);
  const streams = pino.multistream([
    { level: 'trace', stream: pino.destination({ dest: 1, sync: false }) },
    { level: 'trace', stream: buffer },
  ]);
  const logger = pino(
    {
      level: opts.level,
      base: { pid: process.pid, version: opts.version },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.epochTime,
      formatters: { level: (_label, number) => ({ level: number }) },
    },
    streams,
  );
  return { logger, buffer };
}
