/**
 * docs/DEPLOY.md, followed on a fresh homeserver: a third Synapse as it is before Causerie (no
 * delayed events, no MatrixRTC transports), its own LiveKit, and a Causerie set up only with the
 * `causerie` commands (generate-config, setup, start, doctor) and the three edits the doc names
 * (config.yaml, homeserver.yaml, livekit.yaml);
 * `doctor` finds each homeserver setting missing in turn (that ✗ only), then all ✓, and a call works
 * in a room there. The service uses the embedded database (no database URL), as a first deployment
 * would.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { dispose, Room } from '@livekit/rtc-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, parseDocument, stringify as stringifyYaml } from 'yaml';

import { connectToCall, say, waitForCallWidget } from '../../scripts/stack/clients/calls.ts';
import type { HomeserverEnv } from '../../scripts/stack/clients/env.ts';
import {
  asUser,
  createRoom,
  eventually,
  inviteAndJoin,
  registerUser,
  waitForMembership,
} from '../../scripts/stack/clients/matrix.ts';
import { livekitBinary, synapsePython } from '../../scripts/stack/install.ts';
import { startDetached, stopGroup } from '../../scripts/stack/processes.ts';
import {
  clientUrl,
  dataDir,
  federationUrl,
  homeserverHealthy,
  selfSignedCertificate,
  serverName,
  tlsCert,
  writeHomeserverConfig,
  type HomeserverSpec,
} from '../../scripts/stack/synapse.ts';

const bin = fileURLToPath(new URL('../../bin/causerie', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'causerie-deploy-'));
const secret = randomBytes(24).toString('hex');
const env = { ...process.env, CAUSERIE_LIVEKIT_API_SECRET: secret };
const servicePort = 8486;
const serviceUrl = `http://127.0.0.1:${servicePort}`;
const spec: HomeserverSpec = {
  name: 'c',
  federationPort: 8485,
  clientPort: 8495,
  registrationSharedSecret: randomBytes(16).toString('hex'),
  appserviceRegistrations: [],
  bare: true,
};
const hs: HomeserverEnv = {
  name: 'c',
  server_name: serverName(spec),
  url: clientUrl(spec),
  federation_url: federationUrl(spec),
  registration_shared_secret: spec.registrationSharedSecret,
};
const commands: string[] = [];
const pids: { part: string; pid: number }[] = [];
let service: ChildProcess | undefined;
const rooms: Room[] = [];

/** One `causerie` command, as the doc writes it; its output and exit status. */
function causerie(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  commands.push(args[0] ?? '');
  const r = spawnSync(bin, args, { encoding: 'utf8', env, cwd: dir, timeout: 90_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

type Yaml = Record<string, unknown>;
const isMap = (v: unknown): v is Yaml => typeof v === 'object' && v !== null && !Array.isArray(v);
/** Pasting a snippet into an existing YAML file: its keys merged in, lists of the snippet win. */
function merge(into: Yaml, add: Yaml): Yaml {
  const out: Yaml = { ...into };
  for (const [k, v] of Object.entries(add)) out[k] = isMap(v) && isMap(out[k]) ? merge(out[k], v) : v;
  return out;
}

const homeserverYaml = join(dataDir(spec), 'homeserver.yaml');
let bareHomeserver: Yaml = {};

async function startSynapse(config: Yaml, federation = true, clockOffset?: string): Promise<void> {
  const running = pids.findIndex((p) => p.part === 'synapse-c');
  if (running >= 0) {
    const [p] = pids.splice(running, 1);
    if (p !== undefined) await stopGroup(p.part, p.pid);
  }
  writeFileSync(homeserverYaml, stringifyYaml(config));
  const synapse = [synapsePython, '-m', 'synapse.app.homeserver', '-c', homeserverYaml];
  // A homeserver whose clock is off (libfaketime): its answers' Date headers say so.
  const [command, ...args] = clockOffset === undefined ? synapse : ['faketime', '-f', clockOffset, ...synapse];
  const pid = startDetached({ part: 'synapse-c', command: command ?? synapsePython, args, cwd: dataDir(spec) });
  pids.push({ part: 'synapse-c', pid });
  // Without the federation resource only the client API can say it is up.
  const healthy = async (): Promise<boolean> =>
    federation ? homeserverHealthy(spec) : (await fetch(`${hs.url}/health`).catch(() => undefined))?.ok === true;
  await eventually('Synapse C healthy', async () => ((await healthy()) ? true : undefined), 90_000);
}

function doctor(): { failed: string[]; output: string; status: number | null } {
  const r = causerie('doctor', '-c', join(dir, 'config.yaml'));
  const failed = r.stdout
    .split('\n')
    .map((l) => /^✗ ([^:]+):/.exec(l)?.[1])
    .filter((t): t is string => t !== undefined);
  return { failed, output: r.stdout + r.stderr, status: r.status };
}

beforeAll(async () => {
  // A fresh homeserver, as it runs before Causerie.
  rmSync(dataDir(spec), { recursive: true, force: true });
  writeHomeserverConfig(spec);
  bareHomeserver = parseYaml(readFileSync(homeserverYaml, 'utf8')) as Yaml;
  await startSynapse(bareHomeserver);
}, 120_000);

afterAll(async () => {
  for (const r of rooms) await r.disconnect();
  await dispose();
  service?.kill('SIGTERM');
  for (const p of pids.reverse()) await stopGroup(p.part, p.pid);
});

describe('docs/DEPLOY.md on a fresh homeserver', () => {
  it('the commands and three edits the doc names give a working call, doctor finding each missing setting on the way', async () => {
    // 1. The config: generated, then the required keys edited (the first edit).
    const config = join(dir, 'config.yaml');
    expect(causerie('generate-config', '-o', config).status).toBe(0);
    const doc = parseDocument(readFileSync(config, 'utf8'));
    doc.setIn(['homeserver', 'url'], hs.url);
    doc.setIn(['homeserver', 'domain'], hs.server_name);
    doc.setIn(['appservice', 'url'], serviceUrl);
    doc.setIn(['appservice', 'registration'], join(dir, 'registration.yaml'));
    doc.setIn(['listen', 'port'], servicePort);
    doc.setIn(['livekit', 'url'], 'ws://127.0.0.1:7893');
    doc.setIn(['livekit', 'api_key'], 'causerie-c');
    doc.deleteIn(['livekit', 'api_secret']); // from CAUSERIE_LIVEKIT_API_SECRET
    doc.setIn(['database', 'data_dir'], join(dir, 'data'));
    // This test's homeserver lives on loopback with the stack's self-signed certificate.
    doc.setIn(['federation', 'private_address_servers'], [hs.server_name]);
    doc.setIn(['federation', 'ca_file'], tlsCert);
    writeFileSync(config, doc.toString());
    // 2. setup: validates, writes the registration and the two settings files to paste.
    const set = causerie('setup', '-c', config);
    expect(set.status, set.stderr).toBe(0);
    expect(set.stdout).toContain('homeserver.causerie.yaml');

    // homeserver.yaml: the settings pasted in (the second edit). Doctor is run first with each part
    // left out: it names exactly that part.
    const snippet = parseYaml(readFileSync(join(dir, 'homeserver.causerie.yaml'), 'utf8')) as Yaml;
    /** The snippet without some of its keys (`a` or `a.b`), as an admin who forgot them would paste it. */
    const without = (...keys: string[]): Yaml => {
      const drop = (node: Yaml, prefix: string): Yaml =>
        Object.fromEntries(
          Object.entries(node)
            .filter(([k]) => !keys.includes(`${prefix}${k}`))
            .map(([k, v]) => [k, isMap(v) ? drop(v, `${prefix}${k}.`) : v]),
        );
      return drop(snippet, '');
    };
    await startSynapse(merge(bareHomeserver, without('max_event_delay_duration')));

    // 3. livekit.yaml: the settings pasted in, the secret filled in (the third edit).
    const livekitYaml = join(dir, 'livekit.yaml');
    const lkSettings = parseYaml(
      readFileSync(join(dir, 'livekit.causerie.yaml'), 'utf8').replace(/<the secret of [^>]+>/, secret),
    ) as Yaml;
    writeFileSync(
      livekitYaml,
      stringifyYaml(
        merge(
          {
            port: 7893,
            bind_addresses: ['127.0.0.1'],
            rtc: {
              tcp_port: 7894,
              udp_port: 7895,
              use_external_ip: false,
              node_ip: '127.0.0.1',
              enable_loopback_candidate: true,
            },
            logging: { level: 'warn' },
          },
          lkSettings,
        ),
      ),
    );
    pids.push({
      part: 'livekit-c',
      pid: startDetached({ part: 'livekit-c', command: livekitBinary, args: ['--config', livekitYaml], cwd: dir }),
    });

    // 4. start.
    commands.push('start');
    service = spawn(bin, ['start', '-c', config], { env, cwd: dir, stdio: 'ignore', detached: false });
    await eventually(
      'the service answering',
      async () => ((await fetch(`${serviceUrl}/healthz`).catch(() => undefined))?.ok === true ? true : undefined),
      60_000,
    );

    // 5. doctor: each homeserver setting missing in turn, then everything in place.
    expect(doctor().failed).toEqual(['delayed events (MSC4140) enabled, long enough']);
    await startSynapse(merge(bareHomeserver, without('matrix_rtc', 'experimental_features.msc4143_enabled')));
    expect(doctor().failed).toEqual(['homeserver advertises this service as its MatrixRTC transport']);
    await startSynapse(merge(bareHomeserver, without('extra_well_known_client_content')));
    expect(doctor().failed).toEqual(['well-known client file names this service (clients that read it there)']);
    // Its TLS listener without the federation resource: partners' services cannot verify its users.
    const noFederation = merge(bareHomeserver, snippet);
    noFederation['listeners'] = (noFederation['listeners'] as Yaml[]).map((l) =>
      l['tls'] === true ? { ...l, resources: [{ names: ['client'], compress: false }] } : l,
    );
    await startSynapse(noFederation, false);
    expect(doctor().failed).toEqual([
      "homeserver's OpenID endpoint reachable over federation (as partners' services reach it)",
    ]);
    // A federation certificate that is trusted but expires in 2 days: renewal has failed somewhere.
    const shortKey = join(dir, 'short.key');
    const shortCert = join(dir, 'short.crt');
    selfSignedCertificate(shortKey, shortCert, 2);
    const bundle = join(dir, 'trusted.pem');
    writeFileSync(bundle, `${readFileSync(tlsCert, 'utf8')}\n${readFileSync(shortCert, 'utf8')}`);
    const withBundle = parseDocument(readFileSync(config, 'utf8'));
    withBundle.setIn(['federation', 'ca_file'], bundle);
    writeFileSync(config, withBundle.toString());
    await startSynapse(
      { ...merge(bareHomeserver, snippet), tls_certificate_path: shortCert, tls_private_key_path: shortKey },
      false,
    );
    const expiring = doctor();
    expect(expiring.failed, expiring.output).toEqual(['TLS certificates valid, not about to expire']);
    expect(expiring.output).toMatch(/expires in [01] days/);
    // Its clock two minutes ahead: tokens and signatures would be judged on different times.
    await startSynapse(merge(bareHomeserver, snippet), true, '+120s');
    const skewed = doctor();
    expect(skewed.failed, skewed.output).toEqual(['clock in step with the homeserver and LiveKit']);
    expect(skewed.output).toMatch(/homeserver's clock is 1[12]\d s off ours/);
    // Synapse given a registration copy whose hs_token is not the service's: it cannot call us.
    const staleCopy = join(dir, 'registration-stale-copy.yaml');
    const reg = parseYaml(readFileSync(join(dir, 'registration.yaml'), 'utf8')) as Yaml;
    writeFileSync(staleCopy, stringifyYaml({ ...reg, hs_token: randomBytes(32).toString('hex') }));
    await startSynapse({ ...merge(bareHomeserver, snippet), app_service_config_files: [staleCopy] });
    const stale = doctor();
    expect(stale.failed, stale.output).toEqual([
      "the homeserver reaches this service's appservice API (ping, hs_token)",
    ]);
    await startSynapse(merge(bareHomeserver, snippet));
    const report = doctor();
    expect(report.failed, report.output).toEqual([]);
    expect(report.status).toBe(0);
    // At most five commands: four, besides the three edits.
    expect(commands.filter((c, i) => commands.indexOf(c) === i)).toEqual([
      'generate-config',
      'setup',
      'start',
      'doctor',
    ]);

    // 6. A call in a room on that homeserver.
    const bot = `@causerie:${hs.server_name}`;
    const [alice, bob] = await Promise.all([registerUser(hs), registerUser(hs)]);
    const roomId = await createRoom(alice, {
      power_level_content_override: { events: { 'org.matrix.msc3401.call.member': 0 }, users: { [bot]: 50 } },
      invite: [bot],
    });
    await waitForMembership(alice, roomId, bot, 'join');
    await inviteAndJoin(alice, roomId, bob);
    await say(alice, roomId, '!call');
    await waitForCallWidget(bob, roomId);
    const a = await connectToCall(alice, roomId, rooms, serviceUrl);
    const b = await connectToCall(bob, roomId, rooms, serviceUrl);
    await eventually('each sees the other in the call', () =>
      Promise.resolve(a.remoteParticipants.size === 1 && b.remoteParticipants.size === 1 ? true : undefined),
    );
    expect([...a.remoteParticipants.values()][0]?.identity).toBe(`${bob.userId}:${bob.deviceId}`);
    // The call exists for the bot too: it was announced in the room.
    const messages = await asUser<{ chunk: { sender: string }[] }>(
      alice,
      'GET',
      `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=30`,
    );
    expect(messages.chunk.some((e) => e.sender === bot)).toBe(true);
  }, 600_000);
});
