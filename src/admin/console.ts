/**
 * The web console: a fixed set of static files (no directory is ever served), read once at start, sent
 * with a strict Content-Security-Policy: scripts and styles from this origin only, no inline script,
 * no framing, nothing fetched from elsewhere. The token lives in the tab's sessionStorage and travels in
 * the Authorization header, never in a cookie, so no other site can make the browser act with it (CSRF).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { errorBody } from '../errors/error-body.js';

export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const here = (name: string) => fileURLToPath(new URL(`./console/${name}`, import.meta.url));
const require = createRequire(import.meta.url);

interface Asset {
  readonly body: Buffer;
  readonly type: string;
}

function assets(): Map<string, Asset> {
  const files: [string, string, string][] = [
    ['index.html', here('index.html'), 'text/html; charset=utf-8'],
    ['console.js', here('console.js'), 'text/javascript; charset=utf-8'],
    ['console.css', here('console.css'), 'text/css; charset=utf-8'],
    ['uplot.js', require.resolve('uplot/dist/uPlot.iife.min.js'), 'text/javascript; charset=utf-8'],
    ['uplot.css', require.resolve('uplot/dist/uPlot.min.css'), 'text/css; charset=utf-8'],
  ];
  return new Map(files.map(([name, path, type]) => [name, { body: readFileSync(path), type }]));
}

export async function consoleRoutes(app: FastifyInstance): Promise<void> {
  const files = assets();
  app.get<{ Params: { file?: string } }>('/console/:file?', async (request, reply) => {
    const asset = files.get(request.params.file || 'index.html');
    if (!asset) return reply.code(404).type('application/json; charset=utf-8').send(errorBody('not_found', 'no such resource'));
    return reply
      .header('content-security-policy', CONSOLE_CSP)
      .header('cache-control', 'no-cache')
      .header('cross-origin-opener-policy', 'same-origin')
      .header('cross-origin-resource-policy', 'same-origin')
      .type(asset.type)
      .send(asset.body);
  });
}
