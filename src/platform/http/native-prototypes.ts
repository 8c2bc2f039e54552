// Why this exists: express gives every request its API (res.json, req.is…) by
// calling Object.setPrototypeOf on node's request and response objects, once
// per request. V8 deoptimises objects whose prototype changes after creation,
// and node's own HTTP code then runs slowly on them: on this machine an empty
// express route answered 8.3k req/s, the same app 28k req/s once the objects
// were born with express's prototypes (scripts/bench/ingest.ts measures both).
//
// So each app gets two classes that extend node's IncomingMessage and
// ServerResponse and carry express's methods; the app's request/response
// prototypes become exactly those classes' prototypes, and the HTTP server
// constructs its objects from them. Express's per-request setPrototypeOf then
// sets the prototype the object already has, which V8 skips.
import http from 'node:http';
import type { Express } from 'express';

export interface ServerClasses {
  IncomingMessage: typeof http.IncomingMessage;
  ServerResponse: typeof http.ServerResponse;
}

const classesByApp = new WeakMap<object, ServerClasses>();

/** Call right after `express()`, before anything is defined on `app.request`/`app.response`. */
export function bindNativePrototypes(app: Express): ServerClasses {
  class Request extends http.IncomingMessage {}
  class Response extends http.ServerResponse {}
  adopt(Request.prototype, Object.getPrototypeOf(app.request) as object, app);
  adopt(Response.prototype, Object.getPrototypeOf(app.response) as object, app);
  // The casts say what express does at runtime: its request/response prototypes are plain objects on node's classes.
  app.request = Request.prototype as unknown as Express['request'];
  app.response = Response.prototype as unknown as Express['response'];
  const classes = { IncomingMessage: Request, ServerResponse: Response as unknown as typeof http.ServerResponse };
  classesByApp.set(app, classes);
  return classes;
}

/** The classes an HTTP server should construct for this handler, if it is an app bound above. */
export function serverClassesOf(handler: object): ServerClasses | undefined {
  return classesByApp.get(handler);
}

function adopt(target: object, expressPrototype: object, app: Express): void {
  for (const key of Reflect.ownKeys(expressPrototype)) {
    Object.defineProperty(target, key, Object.getOwnPropertyDescriptor(expressPrototype, key)!);
  }
  Object.defineProperty(target, 'app', { configurable: true, enumerable: true, writable: true, value: app });
}
