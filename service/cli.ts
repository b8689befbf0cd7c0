/**
 * The `causerie` command (bin/causerie; `npx causerie …` in a checkout):
 *   generate-config       a commented sample config (every key, its default)
 *   setup                 validate-config + generate-registration + the two settings files, in one
 *   validate-config       every problem of a config, with file:line:column and key
 *   generate-registration the appservice registration for the homeserver
 *   homeserver-config     the homeserver.yaml settings and .well-known entry this service needs
 *   livekit-config        the livekit.yaml settings this service needs
 *   doctor                checks the deployment against the real servers: ✓/✗ with the fix
 *   start                 runs the service
 * Exit status: 0 done, 1 a problem found (printed), 2 a usage error.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { homeserverSnippet, livekitSnippet, wellKnownClient } from '../config/deploy-snippets.ts';
import { checkConfigFile, ConfigError, formatProblem, loadConfig } from '../config/load.ts';
import { buildRegistration, writeRegistration } from '../config/registration.ts';
import { renderSample, unfilledPlaceholders } from '../config/sample.ts';
import { createLogger } from '../core/log.ts';
import { doctorChecks } from './doctor-checks.ts';
import { formatReport, runDoctor } from './doctor.ts';
import { startService } from './start.ts';
import { startTokenOnly, tokenOnlyOptionsFromEnv, tokenOnlyRequested } from './token-only.ts';

const usage = `usage: causerie <command> [options]

  generate-config -o <config.yaml> [--force]      write a commented sample config (- for stdout)
  setup -c <config.yaml>                          after editing the config: validate it, write the registration
                                                  and the homeserver.yaml / livekit.yaml settings to paste
  validate-config -c <config.yaml>                list every problem, with line and key
  generate-registration -c <config.yaml> [-o <registration.yaml>] [--force]
                                                  write the appservice registration for the homeserver
  homeserver-config -c <config.yaml>              print the homeserver.yaml settings and .well-known entry
  livekit-config -c <config.yaml>                 print the livekit.yaml settings
  doctor -c <config.yaml>                         check the deployment part by part (✓/✗ and the fix)
  start -c <config.yaml>                          run the service
  start                                           the token service alone, from lk-jwt-service's
                                                  environment variables (LIVEKIT_URL, LIVEKIT_KEY, …)`;

const out = (text: string): void => {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
};
const fail = (text: string): number => {
  process.stderr.write(`causerie: ${text}\n`);
  return 1;
};

/** Writes a file the user asked for, refusing to replace one unless told to. */
function writeNew(path: string, text: string, force: boolean, why: string): number {
  if (path === '-') {
    out(text);
    return 0;
  }
  if (existsSync(path) && !force) return fail(`${path} exists; pass --force to replace it${why}`);
  writeFileSync(path, text, { mode: 0o600 });
  out(`wrote ${path}`);
  return 0;
}

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
    out(usage);
    return values.help ? 0 : 2;
  }
  if (command === 'generate-config') {
    if (values.output === undefined) return usageError('generate-config needs -o <config.yaml> (or -o - for stdout)');
    return writeNew(values.output, renderSample(), values.force, '');
  }
  const commands = [
    'setup',
    'validate-config',
    'generate-registration',
    'homeserver-config',
    'livekit-config',
    'doctor',
    'start',
  ];
  if (!commands.includes(command)) return usageError(`unknown command "${command}"`);
  // As lk-jwt-service: no config file, its environment variables (service/token-only.ts).
  if (command === 'start' && values.config === undefined && tokenOnlyRequested(process.env)) {
    const log = createLogger('service');
    const service = await startTokenOnly(tokenOnlyOptionsFromEnv(process.env), log);
    stopOnSignals(log, () => service.stop());
    return -1;
  }
  if (values.config === undefined) return usageError(`${command} needs -c <config.yaml>`);

  if (command === 'validate-config' || command === 'doctor' || command === 'setup') {
    const result = checkConfigFile(values.config, process.env, unfilledPlaceholders);
    if ('problems' in result) {
      if (command === 'doctor') process.stderr.write(`✗ configuration valid: ${result.problems.length} problem(s)\n`);
      for (const p of result.problems) process.stderr.write(`${formatProblem(values.config, p)}\n`);
      process.stderr.write(
        `${result.problems.length} problem${result.problems.length > 1 ? 's' : ''} in ${values.config}\n`,
      );
      return 1;
    }
    if (command === 'setup') return setup(result.config, values.config);
    if (command === 'doctor') {
      const results = await runDoctor(doctorChecks(result.config, values.config));
      out(formatReport(results));
      return results.some((r) => r.state === 'failed') ? 1 : 0;
    }
    out(`${values.config}: valid`);
    return 0;
  }
  const config = loadConfig(values.config);
  switch (command) {
    case 'generate-registration':
      if (existsSync(values.output ?? config.appservice.registration) && !values.force) {
        return fail(
          `${values.output ?? config.appservice.registration} exists; pass --force to replace it (its tokens change)`,
        );
      }
      writeRegistration(values.output ?? config.appservice.registration, buildRegistration(config));
      out(`wrote ${values.output ?? config.appservice.registration}`);
      return 0;
    case 'homeserver-config':
      out(homeserverSnippet(config));
      out(
        `# If a web server, not Synapse, serves /.well-known/matrix/client, merge this into it:\n# ${JSON.stringify(wellKnownClient(config))}`,
      );
      return 0;
    case 'livekit-config':
      out(livekitSnippet(config));
      return 0;
    default:
      return start(config);
  }
}

/**
 * `setup`: after the config is edited, everything else the homeserver and LiveKit need in one step:
 * the registration (kept if it exists: its tokens are already loaded), and the homeserver.yaml and
 * livekit.yaml settings written next to the config, to paste in.
 */
function setup(config: ReturnType<typeof loadConfig>, configPath: string): number {
  const reg = config.appservice.registration;
  if (existsSync(reg)) out(`kept ${reg} (the homeserver may have loaded its tokens already)`);
  else {
    writeRegistration(reg, buildRegistration(config));
    out(`wrote ${reg}`);
  }
  const dir = dirname(resolve(configPath));
  const hsFile = join(dir, 'homeserver.causerie.yaml');
  const lkFile = join(dir, 'livekit.causerie.yaml');
  writeFileSync(
    hsFile,
    `${homeserverSnippet(config)}\n# If a web server, not Synapse, serves /.well-known/matrix/client, merge this into it:\n# ${JSON.stringify(wellKnownClient(config))}\n`,
  );
  writeFileSync(lkFile, livekitSnippet(config));
  out(`wrote ${hsFile}: merge it into Synapse's homeserver.yaml, then restart Synapse`);
  out(`wrote ${lkFile}: merge it into livekit.yaml with the secret filled in, then restart LiveKit`);
  out(`then: causerie start -c ${configPath}, and causerie doctor -c ${configPath}`);
  return 0;
}

function usageError(text: string): number {
  process.stderr.write(`causerie: ${text}\n${usage}\n`);
  return 2;
}

async function start(config: ReturnType<typeof loadConfig>): Promise<number> {
  const log = createLogger('service');
  const service = await startService(config, { log });
  stopOnSignals(log, () => service.stop());
  return -1; // keep running
}

function stopOnSignals(log: ReturnType<typeof createLogger>, stop: () => Promise<void>): void {
  const shutdown = (signal: string): void => {
    log.info('stopping', { signal });
    stop().then(
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
