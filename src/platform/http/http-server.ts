// Listening and draining. A port that is taken is a fatal boot error naming the
// port. On shutdown we stop accepting (new connections are refused), answer
// every request already received, and close each keep-alive connection
// without racing a client that is sending on it:
//  - responses written from then on carry `Connection: close`, so a client
//    that gets one opens a new connection for its next request, and is refused;
//  - a connection idle when the drain starts is closed only once it has been
//    idle for IDLE_GRACE_MS. Node's own server.close() destroys idle
//    keep-alive sockets at once, and a client that had just sent a request on
//    one saw a reset for a request the server never read.
// Whatever is still open when the timeout hits is dropped.
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import type { RequestListener, ServerResponse } from 'node:http';
import { serverClassesOf } from './native-prototypes.js';

export class PortInUseError extends Error {
  constructor(readonly service: string, readonly host: string, readonly port: number) {
    super(`${service}: port ${port} on ${host} is already in use`);
    this.name = 'PortInUseError';
  }
}

export interface RunningServer {
  readonly port: number;
  /** Stop accepting; resolve when every connection has closed (see above) or the timeout hit. */
  drain(timeoutMs: number): Promise<{ timedOut: boolean }>;
}

/**
 * How long a connection must have been idle, during a drain, before it is
 * closed. A client of a busy connection sends its next request within
 * microseconds of its last response (and gets `Connection: close` on it);
 * one idle this long is not about to send, as far as anyone can know.
 */
export const IDLE_GRACE_MS = 500;

interface ConnectionState {
  /** Requests of this connection whose response has not closed yet. */
  busy: number;
  idleSince: number;
}

export function listen(service: string, handler: RequestListener, host: string, port: number): Promise<RunningServer> {
  const server = http.createServer({ keepAliveTimeout: 5_000, requestTimeout: 300_000, ...serverClassesOf(handler) });
  const connections = new Map<Socket, ConnectionState>();
  const responses = new Set<ServerResponse>();
  let draining = false;
  server.on('connection', (socket: Socket) => {
    connections.set(socket, { busy: 0, idleSince: Date.now() });
    socket.once('close', () => connections.delete(socket));
  });
  // Registered before the handler: a response the handler writes synchronously must already know about the drain.
  server.on('request', (req, res) => {
    const conn = connections.get(req.socket);
    if (conn) conn.busy++;
    responses.add(res);
    if (draining) res.setHeader('Connection', 'close');
    res.once('close', () => {
      responses.delete(res);
      if (conn) {
        conn.busy--;
        conn.idleSince = Date.now();
      }
    });
  });
  server.on('request', handler);

  const drain = (timeoutMs: number) =>
    new Promise<{ timedOut: boolean }>((done) => {
      draining = true;
      let finished = false;
      const finish = (timedOut: boolean) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        clearInterval(sweep);
        done({ timedOut });
      };
      const timer = setTimeout(() => {
        const timedOut = responses.size > 0;
        server.closeAllConnections();
        finish(timedOut);
      }, timeoutMs);
      timer.unref();
      // Answers not started yet close their connection after them.
      for (const res of responses) if (!res.headersSent) res.setHeader('Connection', 'close');
      const closeIdle = () => {
        const now = Date.now();
        for (const [socket, conn] of connections) if (conn.busy === 0 && now - conn.idleSince >= IDLE_GRACE_MS) socket.destroy();
      };
      const sweep = setInterval(closeIdle, 50);
      sweep.unref();
      // net's close stops listening and calls back once the last connection has closed.
      net.Server.prototype.close.call(server, () => finish(false));
      closeIdle();
    });

  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE' ? new PortInUseError(service, host, port) : err);
    });
    server.listen(port, host, () => {
      const actual = (server.address() as AddressInfo).port;
      resolve({ port: actual, drain });
    });
  });
}
