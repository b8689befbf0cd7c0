/**
 * The local stack as a whole: Synapse A and B, LiveKit, PostgreSQL and the Causerie service.
 * `up` installs what is missing, starts what is not running (reusing what is), waits until every
 * part answers, and writes .stack/env.json. `down` stops every part and leaves no process behind.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { stringify as stringifyYaml } from 'yaml';

import { loadConfig } from '../../config/load.ts';
import { buildAll } from '../build.ts';
import { buildRegistration, writeRegistration } from '../../config/registration.ts';
import { getText } from './http-check.ts';
import { ensureInstalled } from './install.ts';
import { envFile, host, livekitDev, logFile, ports, repoRoot, stateDir } from './layout.ts';
import { livekitHealthy, livekitWsUrl, partnerLivekitHttpUrl, partnerLivekitWsUrl, startLivekit } from './livekit.ts';
import { postgresDataDir, postgresHealthy, postgresLog, postgresUrl, startPostgres, stopPostgres } from './postgres.ts';
import { portInUse, runningPid, StackError, startDetached, stopGroup, waitHealthy } from './processes.ts';
import {
  clientUrl,
  ensureTls,
  federationUrl,
  homeserverHealthy,
  serverName,
  startHomeserver,
  tlsCert,
  type HomeserverSpec,
} from './synapse.ts';

export interface StackEnv {
  homeservers: {
    name: string;
    server_name: string;
    url: string;
    federation_url: string;
    registration_shared_secret: string;
  }[];
  livekit: { url: string; api_key: string; api_secret: string };
  postgres: { url: string };
  service: { url: string };
  appservice: { registration: string; sender: string };
  /** PEM certificate the homeservers' federation (TLS) listeners present. */
  tls_ca: string;
  /**
   * Homeserver B's own deployment (its LiveKit and token service, as an Element Call deployment).
   * `advertised`: B names it as its MatrixRTC transport (the two-SFU layout), or names none.
   */
  partner: { service_url: string; livekit_url: string; advertised: boolean };
}

const serviceUrl = `http://${host}:${ports.service}`;
const partnerServiceUrl = `http://${host}:${ports.partnerService}`;

/**
 * The stack's layout: `single` (one SFU: every member publishes on ours; homeserver B names no
 * transport) or `two-sfu` (B names its own deployment, so B's clients publish on B's SFU). Chosen by
 * CAUSERIE_STACK_SFU at `up`; a running stack in the other layout restarts homeserver B.
 */
export type StackLayout = 'single' | 'two-sfu';
export const stackLayout = (): StackLayout => (process.env['CAUSERIE_STACK_SFU'] === 'two' ? 'two-sfu' : 'single');
const layoutFile = join(stateDir, 'layout');
export const serviceConfigFile = join(stateDir, 'causerie.yaml');
export const registrationFile = join(stateDir, 'registration.yaml');
const secretsFile = join(stateDir, 'secrets.json');

function log(line: string): void {
  process.stderr.write(`stack: ${line}\n`);
}

interface Secrets {
  a: string;
  b: string;
}

function secrets(): Secrets {
  if (existsSync(secretsFile)) return JSON.parse(readFileSync(secretsFile, 'utf8')) as Secrets;
  const s = { a: randomBytes(24).toString('hex'), b: randomBytes(24).toString('hex') };
  writeFileSync(secretsFile, JSON.stringify(s), { mode: 0o600 });
  return s;
}

/** The service config for the local stack; its registration is generated once and kept. */
function writeServiceConfig(): void {
  const config = {
    homeserver: {
      url: clientUrl({ clientPort: ports.synapseA.client }),
      domain: serverName({ federationPort: ports.synapseA.federation }),
    },
    // A short grace so tests see stale MatrixRTC memberships cleaned up quickly.
    // Short grace and reconciliation so tests see cleanup and recovery quickly.
    appservice: {
      url: serviceUrl,
      registration: 'registration.yaml',
      stale_membership_grace_seconds: 2,
      reconcile_interval_seconds: 2,
      remote_call_end_grace_seconds: 3,
    },
    listen: { host, port: ports.service },
    livekit: { url: livekitWsUrl, api_key: livekitDev.apiKey, api_secret: livekitDev.apiSecret },
    database: { url: postgresUrl() },
    widget: { dev_host: true },
    // Every test opens guest links from one address.
    guests: { redeem_per_minute: 6000 },
    // The two test homeservers live on loopback and present the stack's self-signed certificate.
    federation: {
      private_address_servers: [
        serverName({ federationPort: ports.synapseA.federation }),
        serverName({ federationPort: ports.synapseB.federation }),
      ],
      ca_file: tlsCert,
    },
  };
  writeFileSync(serviceConfigFile, stringifyYaml(config), { mode: 0o600 });
  if (!existsSync(registrationFile))
    writeRegistration(registrationFile, buildRegistration(loadConfig(serviceConfigFile, {})));
}

function homeserverSpecs(s: Secrets): [HomeserverSpec, HomeserverSpec] {
  return [
    {
      name: 'a',
      federationPort: ports.synapseA.federation,
      clientPort: ports.synapseA.client,
      registrationSharedSecret: s.a,
      appserviceRegistrations: [registrationFile],
      rtcServiceUrl: serviceUrl,
    },
    {
      name: 'b',
      federationPort: ports.synapseB.federation,
      clientPort: ports.synapseB.client,
      registrationSharedSecret: s.b,
      appserviceRegistrations: [],
      ...(stackLayout() === 'two-sfu' ? { rtcServiceUrl: partnerServiceUrl } : {}),
    },
  ];
}

interface Part {
  /** Short name: pid file, log file, messages. */
  name: string;
  ports: number[];
  /** Seconds to wait for health after start. */
  timeoutS: number;
  start: () => Promise<number> | number;
  healthy: () => Promise<boolean>;
  stop: (pid: number) => Promise<void>;
  log: () => string;
}

function parts(): Part[] {
  const [a, b] = homeserverSpecs(secrets());
  const homeserver = (spec: HomeserverSpec): Part => ({
    name: `synapse-${spec.name}`,
    ports: [spec.federationPort, spec.clientPort],
    timeoutS: 90,
    start: () => startHomeserver(`synapse-${spec.name}`, spec),
    healthy: () => homeserverHealthy(spec),
    stop: (pid) => stopGroup(`synapse-${spec.name}`, pid),
    log: () => logFile(`synapse-${spec.name}`),
  });
  return [
    {
      name: 'postgres',
      ports: [ports.postgres],
      timeoutS: 30,
      start: startPostgres,
      healthy: postgresHealthy,
      stop: () => {
        stopPostgres();
        return Promise.resolve();
      },
      log: () => postgresLog(postgresDataDir() ?? '<temp dir>'),
    },
    {
      name: 'livekit',
      ports: [ports.livekit.http, ports.livekit.rtcTcp],
      timeoutS: 30,
      start: () => startLivekit('livekit', `${serviceUrl}/livekit/webhook`),
      healthy: livekitHealthy,
      stop: (pid) => stopGroup('livekit', pid),
      log: () => logFile('livekit'),
    },
    homeserver(a),
    homeserver(b),
    {
      name: 'livekit-b',
      ports: [ports.partnerLivekit.http, ports.partnerLivekit.rtcTcp],
      timeoutS: 30,
      // B's own SFU: no webhooks (our service never hears of B's rooms, as with a real partner).
      start: () => startLivekit('livekit-b', undefined, ports.partnerLivekit),
      healthy: () => livekitHealthy(partnerLivekitHttpUrl),
      stop: (pid) => stopGroup('livekit-b', pid),
      log: () => logFile('livekit-b'),
    },
    {
      name: 'service-b',
      ports: [ports.partnerService],
      timeoutS: 60,
      start: startPartnerService,
      healthy: async () => (await getText(`${partnerServiceUrl}/healthz`)).status === 200,
      stop: (pid) => stopGroup('service-b', pid),
      log: () => logFile('service-b'),
    },
    {
      name: 'service',
      ports: [ports.service],
      timeoutS: 60,
      start: () => startServiceProcess(),
      healthy: serviceHealthy,
      stop: (pid) => stopGroup('service', pid),
      log: () => logFile('service'),
    },
  ];
}

/** Starts the Causerie service of the stack (extra environment for fault-injection tests). */
export function startServiceProcess(extraEnv: Record<string, string> = {}): number {
  return startDetached({
    part: 'service',
    command: process.execPath,
    args: ['--import', 'tsx', join(repoRoot, 'service', 'cli.ts'), 'start', '-c', serviceConfigFile],
    cwd: repoRoot,
    env: { ...process.env, NODE_ENV: 'development', ...extraEnv },
  });
}

/**
 * Homeserver B's token service: Causerie in token-only mode (lk-jwt-service's environment), on B's
 * LiveKit; B's users may start calls there.
 */
function startPartnerService(): number {
  const [a, b] = homeserverSpecs(secrets());
  return startDetached({
    part: 'service-b',
    command: process.execPath,
    args: ['--import', 'tsx', join(repoRoot, 'service', 'cli.ts'), 'start'],
    cwd: repoRoot,
    env: {
      ...process.env,
      NODE_ENV: 'development',
      LIVEKIT_URL: partnerLivekitWsUrl,
      LIVEKIT_KEY: livekitDev.apiKey,
      LIVEKIT_SECRET: livekitDev.apiSecret,
      LIVEKIT_JWT_BIND: `${host}:${ports.partnerService}`,
      LIVEKIT_FULL_ACCESS_HOMESERVERS: serverName(b),
      CAUSERIE_PRIVATE_ADDRESS_SERVERS: `${serverName(a)},${serverName(b)}`,
      CAUSERIE_FEDERATION_CA_FILE: tlsCert,
    },
  });
}

export const serviceHealthy = async (): Promise<boolean> => (await getText(`${serviceUrl}/healthz`)).status === 200;

async function bringUp(part: Part): Promise<boolean> {
  const existing = runningPid(part.name);
  if (existing !== undefined) {
    await waitHealthy({ part: part.name, pid: existing, timeoutMs: part.timeoutS * 1000, check: part.healthy });
    log(`${part.name}: already running (pid ${existing})`);
    return false;
  }
  for (const port of part.ports) {
    if (await portInUse(port)) {
      throw new StackError(part.name, `port ${port} is already in use by a process this stack did not start`);
    }
  }
  const started = Date.now();
  const pid = await part.start();
  await waitHealthy({ part: part.name, pid, timeoutMs: part.timeoutS * 1000, check: part.healthy }).catch(
    (err: unknown) => {
      throw err instanceof StackError ? err : new StackError(part.name, `${String(err)}; log ${part.log()}`);
    },
  );
  log(`${part.name}: up in ${((Date.now() - started) / 1000).toFixed(1)} s (pid ${pid}, log ${part.log()})`);
  return true;
}

function describe(): StackEnv {
  const [a, b] = homeserverSpecs(secrets());
  const hs = (spec: HomeserverSpec): StackEnv['homeservers'][number] => ({
    name: spec.name,
    server_name: serverName(spec),
    url: clientUrl(spec),
    federation_url: federationUrl(spec),
    registration_shared_secret: spec.registrationSharedSecret,
  });
  const config = loadConfig(serviceConfigFile, {});
  return {
    homeservers: [hs(a), hs(b)],
    livekit: { url: livekitWsUrl, api_key: livekitDev.apiKey, api_secret: livekitDev.apiSecret },
    postgres: { url: postgresUrl() },
    service: { url: serviceUrl },
    appservice: {
      registration: registrationFile,
      sender: `@${config.appservice.sender_localpart}:${config.homeserver.domain}`,
    },
    tls_ca: tlsCert,
    partner: {
      service_url: partnerServiceUrl,
      livekit_url: partnerLivekitWsUrl,
      advertised: stackLayout() === 'two-sfu',
    },
  };
}

export interface UpResult {
  env: StackEnv;
  /** Parts this call started (the rest were already running). */
  started: string[];
}

export async function up(): Promise<UpResult> {
  await ensureInstalled();
  await buildAll(true);
  mkdirSync(stateDir, { recursive: true });
  ensureTls();
  writeServiceConfig();
  const all = parts();
  const byName = (n: string): Part => {
    const part = all.find((p) => p.name === n);
    if (part === undefined) throw new StackError('stack', `unknown part ${n}`);
    return part;
  };
  const started: string[] = [];
  const track = async (p: Part): Promise<void> => {
    if (await bringUp(p)) started.push(p.name);
  };
  // Homeserver B names its transport in its config: running in the other layout, it restarts.
  const layout = stackLayout();
  const previous = existsSync(layoutFile) ? readFileSync(layoutFile, 'utf8').trim() : 'single';
  if (previous !== layout) await down(['synapse-b']);
  writeFileSync(layoutFile, layout);
  // Independent parts start together; the service needs its database.
  const results = await Promise.allSettled([
    track(byName('postgres')).then(() => track(byName('service'))),
    track(byName('livekit')),
    track(byName('synapse-a')),
    track(byName('synapse-b')),
    track(byName('livekit-b')).then(() => track(byName('service-b'))),
  ]);
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failures.length > 0) {
    throw new StackError(
      'stack',
      `failed to start:\n${failures.map((f) => (f.reason instanceof Error ? f.reason.message : String(f.reason))).join('\n')}`,
    );
  }
  const env = describe();
  writeFileSync(envFile, `${JSON.stringify(env, null, 2)}\n`, { mode: 0o600 });
  return { env, started };
}

/** Stops the named parts (default: all): the service first, PostgreSQL last. */
export async function down(only?: readonly string[]): Promise<string[]> {
  if (!existsSync(secretsFile)) return [];
  const all = parts();
  const wanted = (name: string): boolean => only === undefined || only.includes(name);
  const stopped: string[] = [];
  const stop = async (name: string): Promise<void> => {
    const part = all.find((p) => p.name === name);
    if (part === undefined || !wanted(name)) return;
    const pid = runningPid(name);
    // PostgreSQL's temp dir is removed even when the server already died.
    if (pid === undefined && !(name === 'postgres' && postgresDataDir() !== undefined)) return;
    await part.stop(pid ?? 0);
    stopped.push(name);
  };
  await Promise.all(['service', 'service-b'].map(stop));
  await Promise.all(['livekit', 'livekit-b', 'synapse-a', 'synapse-b'].map(stop));
  await stop('postgres');
  return stopped;
}

export interface PartStatus {
  name: string;
  pid: number | undefined;
  healthy: boolean;
}

export async function status(): Promise<PartStatus[]> {
  if (!existsSync(secretsFile)) return [];
  return Promise.all(
    parts().map(async (p) => {
      const pid = runningPid(p.name);
      const healthy = pid === undefined ? false : await p.healthy().catch(() => false);
      return { name: p.name, pid, healthy };
    }),
  );
}

export function readStackEnv(): StackEnv {
  if (!existsSync(envFile)) throw new StackError('stack', `${envFile} not found: run npm run stack:up`);
  return JSON.parse(readFileSync(envFile, 'utf8')) as StackEnv;
}
