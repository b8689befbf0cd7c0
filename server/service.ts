/**
 * Starts the Causerie service from a validated config: database (with migrations), HTTP server.
 * Returns a handle that stops everything it started.
 */
import type { AddressInfo } from 'node:net';

import { readRegistration } from '../config/registration.ts';
import type { Config } from '../config/schema.ts';
import { openDatabase } from '../schema/database.ts';
import { migrate } from '../schema/migrate.ts';
import { createHttpApp } from './http.ts';
import { createLogger, type Logger } from './log.ts';

export interface RunningService {
  url: string;
  stop(): Promise<void>;
}

export async function startService(config: Config, log: Logger = createLogger('service')): Promise<RunningService> {
  // Read the registration now so a missing or broken file stops start-up with a clear message.
  readRegistration(config.appservice.registration);
  const db = await openDatabase({ url: config.database.url, dataDir: config.database.data_dir });
  const applied = await migrate(db);
  log.info('database_ready', { kind: db.kind, migrations_applied: applied.length });

  const app = createHttpApp({ db });
  const server = app.listen(config.listen.port, config.listen.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.listen.host}:${port}`;
  log.info('listening', { url });

  return {
    url,
    async stop() {
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
      server.closeAllConnections();
      await db.close();
    },
  };
}
