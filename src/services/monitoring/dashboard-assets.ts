// The dashboard is three static files in ./assets: no bundler, no
// CDN. They are read once on first request and served with a strict CSP.
import { readFile } from 'node:fs/promises';
import type { Response } from 'express';
import { Errors } from '../../platform/errors.js';

const DIR = new URL('./assets/', import.meta.url);
const TYPES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'dashboard.css': 'text/css; charset=utf-8',
  'dashboard.js': 'text/javascript; charset=utf-8',
};
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export class DashboardAssets {
  private readonly cache = new Map<string, Buffer>();

  async send(res: Response, name: string): Promise<void> {
    const type = TYPES[name];
    if (!type) throw Errors.notFound(`dashboard asset ${name}`);
    let body = this.cache.get(name);
    if (!body) {
      body = await readFile(new URL(name, DIR));
      this.cache.set(name, body);
    }
    res.setHeader('Content-Type', type);
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    if (name.endsWith('.html')) {
      res.setHeader('Content-Security-Policy', CSP);
      res.setHeader('X-Frame-Options', 'DENY');
    }
    res.send(body);
  }
}
