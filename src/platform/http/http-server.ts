// Listening and draining. A port that is taken is a fatal boot error naming the
// port; on shutdown we stop accepting, let in-flight requests finish (bounded),
// then drop whatever connections remain.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RequestListener } from 'node:http';
import { serverClassesOf } from './native-prototypes.js';

export class PortInUseError extends Error {
  constructor(readonly service: string, readonly host: string, readonly port: number) {
    super(`${service}: port ${port} on ${host} is already in use`);
    this.name = 'PortInUseError';
  }
}

export interface RunningServer {
  readonly port: number;
  /** Stop accepting; resolve when in-flight requests finished or the timeout hit. */
  drain(timeoutMs: number): Promise<{ timedOut: boolean }>;
}

export function listen(service: string, handler: RequestListener, host: string, port: number): Promise<RunningServer> {
  const server = http.createServer({ keepAliveTimeout: 5_000, requestTimeout: 300_000, ...serverClassesOf(handler) }, handler);
  let inFlight = 0;
  server.on('request', (_req, res) => {
    inFlight++;
    res.on('close', () => inFlight--);
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE' ? new PortInUseError(service, host, port) : err);
    });
    server.listen(port, host, () => {
      const actual = (server.address() as AddressInfo).port;
      resolve({
        port: actual,
        drain: (timeoutMs) =>
          new Promise((done) => {
            const timer = setTimeout(() => {
              server.closeAllConnections();
              done({ timedOut: inFlight > 0 });
            }, timeoutMs);
            timer.unref();
            server.close(() => {
              clearTimeout(timer);
              done({ timedOut: false });
            });
            // Idle keep-alive sockets would hold close() open; busy ones finish their request first.
            server.closeIdleConnections();
            const sweep = setInterval(() => server.closeIdleConnections(), 50);
            sweep.unref();
            server.once('close', () => clearInterval(sweep));
          }),
      });
    });
  });
}
