/**
 * Serves the real Element Call (npm `@element-hq/element-call-embedded`, a test dependency, never
 * shipped) on its own loopback origin, the way a deployment serves it next to Element Web: tests and
 * benchmarks host it in the test host page beside Causerie to prove they share one call. Its
 * `config.json` names the call service as its LiveKit service, as a partner organisation without an
 * SFU of its own configures its Element Call (homeserver A also advertises the service through
 * MSC4143, which Element Call asks first). It also serves a copy of Causerie's built widget at
 * /causerie/ with its config.json naming the service, as a deployment that serves the widget at
 * Element Web's own call-app path does.
 */
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, join, normalize, sep } from 'node:path';

import { host, ports, repoRoot } from './layout.ts';

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.ogg': 'audio/ogg',
  '.mp3': 'audio/mpeg',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
};

/** The package's built app (index.html and its assets). */
export function elementCallDist(): string {
  const pkg = createRequire(import.meta.url).resolve('@element-hq/element-call-embedded/package.json');
  return join(dirname(pkg), 'dist');
}

export const elementCallUrl = `http://${host}:${ports.elementCall}`;

export interface ElementCallServer {
  url: string;
  close(): Promise<void>;
}

/** Starts serving Element Call at `elementCallUrl`, or reuses one already serving there. */
/** Where the copy of Causerie's widget is served. */
export const causerieCopyPath = '/causerie';

export async function serveElementCall(serviceUrl: string): Promise<ElementCallServer> {
  const ecRoot = elementCallDist();
  const widgetRoot = join(repoRoot, 'dist', 'widget');
  const widgetConfig = JSON.stringify({ service_url: serviceUrl });
  const config = JSON.stringify({
    ...(JSON.parse(readFileSync(join(ecRoot, 'config.json'), 'utf8')) as Record<string, unknown>),
    livekit: { livekit_service_url: serviceUrl },
  });
  const server = createServer((req, res) => {
    let path = decodeURIComponent(new URL(req.url ?? '/', elementCallUrl).pathname);
    let root = ecRoot;
    if (path.startsWith(`${causerieCopyPath}/`)) {
      path = path.slice(causerieCopyPath.length);
      root = widgetRoot;
    }
    if (path === '/config.json') {
      const body = root === ecRoot ? config : widgetConfig;
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache' }).end(body);
      return;
    }
    const file = normalize(join(root, path.endsWith('/') ? `${path}index.html` : path));
    let size: number;
    try {
      if (!file.startsWith(root + sep)) throw new Error('outside');
      const st = statSync(file);
      if (!st.isFile()) throw new Error('not a file');
      size = st.size;
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, {
      'content-type': types[extname(file)] ?? 'application/octet-stream',
      'content-length': String(size),
      'cache-control': 'no-cache',
    });
    createReadStream(file).pipe(res);
  });
  const listening = await new Promise<boolean>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') resolve(false);
      else reject(err);
    });
    server.listen(ports.elementCall, host, () => {
      resolve(true);
    });
  });
  if (!listening) {
    // Another run (a kept stack, a benchmark) serves it already: use that one if it is Element Call.
    const res = await fetch(`${elementCallUrl}/config.json`).catch(() => undefined);
    if (res?.ok !== true) throw new Error(`port ${ports.elementCall} is taken by something that is not Element Call`);
    return { url: elementCallUrl, close: () => Promise.resolve() };
  }
  server.unref();
  return {
    url: elementCallUrl,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
