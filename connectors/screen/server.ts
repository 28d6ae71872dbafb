/**
 * The screen's web server (node:http): the page and its assets, Chart.js from node_modules (no CDN),
 * the current snapshot as JSON and the stream of snapshots as server-sent events. Read-only: GET
 * and HEAD only. The page builds its DOM with textContent, never HTML from data, and the
 * Content-Security-Policy allows scripts, styles and connections to this origin only.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ScreenService } from './service.js';

const ASSETS = join(dirname(fileURLToPath(import.meta.url)), 'assets');
/** chart.js exports only its modules; the UMD build for a plain <script> sits beside them in dist/. */
const CHART_JS = join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js');

/** Browsers streaming at once; more are refused rather than holding sockets without bound. */
const MAX_SUBSCRIBERS = 64;

const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

interface Asset {
  type: string;
  body: Buffer;
}

/** Read once at start: a missing asset fails the start, not a request. */
function loadAssets(): Map<string, Asset> {
  const file = (path: string, type: string): Asset => ({ type, body: readFileSync(path) });
  return new Map([
    ['/', file(join(ASSETS, 'index.html'), 'text/html; charset=utf-8')],
    ['/screen.js', file(join(ASSETS, 'screen.js'), 'text/javascript; charset=utf-8')],
    ['/screen.css', file(join(ASSETS, 'screen.css'), 'text/css; charset=utf-8')],
    ['/vendor/chart.umd.min.js', file(CHART_JS, 'text/javascript; charset=utf-8')],
  ]);
}

function send(req: IncomingMessage, res: ServerResponse, status: number, type: string, body: string | Buffer, cache = 'no-cache'): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': cache });
  res.end(req.method === 'HEAD' ? undefined : body);
}

export function createScreenServer(service: ScreenService): Server {
  const assets = loadAssets();
  return createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      send(req, res, 405, 'text/plain; charset=utf-8', 'read-only: GET and HEAD only\n');
      return;
    }
    const path = new URL(req.url ?? '/', 'http://screen').pathname;
    const asset = assets.get(path);
    if (asset !== undefined) {
      send(req, res, 200, asset.type, asset.body);
      return;
    }
    switch (path) {
      case '/events':
        if (service.subscriberCount >= MAX_SUBSCRIBERS) {
          send(req, res, 503, 'text/plain; charset=utf-8', `at most ${MAX_SUBSCRIBERS} screens at once\n`);
          return;
        }
        for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
        service.subscribe(res);
        return;
      case '/snapshot.json': {
        const snapshot = service.snapshot();
        if (snapshot === undefined) send(req, res, 503, 'text/plain; charset=utf-8', 'not read yet\n');
        else send(req, res, 200, 'application/json; charset=utf-8', JSON.stringify(snapshot), 'no-store');
        return;
      }
      case '/healthz':
        send(req, res, 200, 'text/plain; charset=utf-8', 'ok\n');
        return;
      case '/readyz':
        if (service.ready()) send(req, res, 200, 'text/plain; charset=utf-8', 'ready\n');
        else send(req, res, 503, 'text/plain; charset=utf-8', `${service.snapshot()?.redisError ?? 'Redis not read yet'}\n`);
        return;
      default:
        send(req, res, 404, 'text/plain; charset=utf-8', 'not found\n');
    }
  });
}

/** Listens on host:port (port 0: any free one); resolves with the URL the page is served at. */
export function listen(server: Server, host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      if (address === null || typeof address === 'string') return reject(new Error('the screen server has no TCP address'));
      const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      resolve(`http://${shown}:${address.port}/`);
    });
  });
}
