/**
 * The `causerie` command: `start -c config.yaml` runs the service;
 * `generate-registration -c config.yaml -o registration.yaml` writes the appservice registration
 * for the homeserver.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { ConfigError, loadConfig } from '../config/load.ts';
import { buildRegistration, writeRegistration } from '../config/registration.ts';
import { createLogger } from '../core/log.ts';
import { startService } from './start.ts';

const usage = `usage:
  causerie start -c <config.yaml>
  causerie generate-registration -c <config.yaml> -o <registration.yaml> [--force]`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      output: { type: 'string', short: 'o' },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const command = positionals[0];
  if (values.help || command === undefined) {
    process.stdout.write(`${usage}\n`);
    return values.help ? 0 : 2;
  }
  if (values.config === undefined) {
    process.stderr.write(`causerie: -c <config.yaml> is required\n${usage}\n`);
    return 2;
  }
  const config = loadConfig(values.config);

  if (command === 'generate-registration') {
    const out = values.output ?? config.appservice.registration;
    if (existsSync(out) && !values.force) {
      process.stderr.write(`causerie: ${out} exists; pass --force to replace it (its tokens change)\n`);
      return 1;
    }
    writeRegistration(out, buildRegistration(config));
    process.stdout.write(`wrote ${out}\n`);
    return 0;
  }
  if (command === 'start') {
    const log = createLogger('service');
    const service = await startService(config, { log });
    const shutdown = (signal: string): void => {
      log.info('stopping', { signal });
      service.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGTERM', () => {
      shutdown('SIGTERM');
    });
    process.once('SIGINT', () => {
      shutdown('SIGINT');
    });
    return -1; // keep running
  }
  process.stderr.write(`causerie: unknown command "${command}"\n${usage}\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    const message = err instanceof ConfigError || err instanceof Error ? err.message : String(err);
    process.stderr.write(`causerie: ${message}\n`);
    process.exit(1);
  },
);
