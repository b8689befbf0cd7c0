/**
 * Serves the built call widget at /widget/ and, when enabled, the test host page at /dev/host/.
 * Built by `npm run build` into dist/. Beside the widget, /widget/config.json names the service
 * (its public URL) so that the widget finds its token service wherever it is served from: here,
 * or copied or proxied under another path (Element Web's own call-app path).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import express, { type Router } from 'express';

import { unavailable } from '../core/errors.ts';

export const distDir = fileURLToPath(new URL('../dist/', import.meta.url));

/** What /widget/config.json holds: read by the widget at start (widget/core/widget-config.ts). */
export function widgetConfig(publicUrl: string): { service_url: string } {
  return { service_url: publicUrl.replace(/\/+$/, '') };
}

export function staticRoutes(opts: { devHost: boolean; publicUrl: string }): Router {
  const router = express.Router();
  const config = widgetConfig(opts.publicUrl);
  router.get('/widget/config.json', (_req, res) => {
    res.setHeader('cache-control', 'no-cache');
    res.json(config);
  });
  const serve = (prefix: string, dir: string): void => {
    if (!existsSync(join(dir, 'index.html'))) {
      router.use(prefix, () => {
        throw unavailable('widget_not_built', 'The widget is not built: run npm run build');
      });
      return;
    }
    router.use(prefix, express.static(dir, { index: 'index.html', maxAge: 0, fallthrough: false }));
  };
  serve('/widget', join(distDir, 'widget'));
  if (opts.devHost) serve('/dev/host', join(distDir, 'host'));
  return router;
}
