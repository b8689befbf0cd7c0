/**
 * Serves the built call widget at /widget/ and, when enabled, the test host page at /dev/host/.
 * Built by `npm run build` into dist/.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import express, { type Router } from 'express';

import { unavailable } from '../core/errors.ts';

export const distDir = fileURLToPath(new URL('../dist/', import.meta.url));

export function staticRoutes(opts: { devHost: boolean }): Router {
  const router = express.Router();
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
