/**
 * Synapse homeservers A and B: config generation (TLS federation listener with a self-signed cert,
 * plain client listener, MatrixRTC experimental features, raised rate limits, loopback federation
 * allowed), start, health. A loads the Causerie appservice registration and advertises the
 * Causerie token service as its MatrixRTC transport.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { stringify as stringifyYaml } from 'yaml';

import { getText } from './http-check.ts';
import { synapsePython } from './install.ts';
import { host, stateDir } from './layout.ts';
import { startDetached } from './processes.ts';

export interface HomeserverSpec {
  /** a and b: the stack's; others: homeservers a test starts (docs/DEPLOY.md's fresh one). */
  name: string;
  federationPort: number;
  clientPort: number;
  registrationSharedSecret: string;
  /** Appservice registration files to load (A only). */
  appserviceRegistrations: string[];
  /** Token service URL advertised as MatrixRTC transport, if any. */
  rtcServiceUrl?: string;
  /** A homeserver as it is before Causerie: no delayed events, no MatrixRTC transports. */
  bare?: boolean;
}

export const tlsDir = join(stateDir, 'tls');
export const tlsCert = join(tlsDir, 'localhost.crt');
const tlsKey = join(tlsDir, 'localhost.key');

export const serverName = (spec: Pick<HomeserverSpec, 'federationPort'>): string => `localhost:${spec.federationPort}`;
export const clientUrl = (spec: Pick<HomeserverSpec, 'clientPort'>): string => `http://${host}:${spec.clientPort}`;
export const federationUrl = (spec: Pick<HomeserverSpec, 'federationPort'>): string =>
  `https://${host}:${spec.federationPort}`;
export const dataDir = (spec: Pick<HomeserverSpec, 'name'>): string => join(stateDir, `synapse-${spec.name}`);

/** A self-signed certificate for "localhost" / 127.0.0.1 (openssl), valid `days` days. */
export function selfSignedCertificate(keyFile: string, certFile: string, days: number): void {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-sha256',
      '-days',
      String(days),
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
}

/** One self-signed certificate for "localhost" / 127.0.0.1, shared by both homeservers. */
export function ensureTls(): void {
  if (existsSync(tlsCert) && existsSync(tlsKey)) return;
  mkdirSync(tlsDir, { recursive: true });
  selfSignedCertificate(tlsKey, tlsCert, 3650);
}

/** The signing key in Synapse's file format: "ed25519 <version> <unpadded base64 seed>". */
function ensureSigningKey(file: string): void {
  if (existsSync(file)) return;
  const seed = randomBytes(32).toString('base64').replace(/=+$/, '');
  writeFileSync(file, `ed25519 a_${randomBytes(2).toString('hex')} ${seed}\n`, { mode: 0o600 });
}

const unlimited = { per_second: 10_000, burst_count: 100_000 };

export function homeserverConfig(spec: HomeserverSpec): Record<string, unknown> {
  const dir = dataDir(spec);
  const rtc =
    spec.rtcServiceUrl === undefined
      ? {}
      : {
          matrix_rtc: { transports: [{ type: 'livekit', livekit_service_url: spec.rtcServiceUrl }] },
          extra_well_known_client_content: {
            'org.matrix.msc4143.rtc_foci': [{ type: 'livekit', livekit_service_url: spec.rtcServiceUrl }],
          },
        };
  return {
    server_name: serverName(spec),
    public_baseurl: `${clientUrl(spec)}/`,
    pid_file: join(dir, 'homeserver.pid'),
    report_stats: false,
    listeners: [
      {
        port: spec.federationPort,
        bind_addresses: [host],
        type: 'http',
        tls: true,
        x_forwarded: false,
        resources: [{ names: ['client', 'federation'], compress: false }],
      },
      {
        port: spec.clientPort,
        bind_addresses: [host],
        type: 'http',
        tls: false,
        x_forwarded: false,
        resources: [{ names: ['client'], compress: false }],
      },
    ],
    tls_certificate_path: tlsCert,
    tls_private_key_path: tlsKey,
    database: { name: 'sqlite3', args: { database: join(dir, 'homeserver.db') } },
    media_store_path: join(dir, 'media'),
    signing_key_path: join(dir, 'signing.key'),
    trusted_key_servers: [],
    suppress_key_server_warning: true,
    registration_shared_secret: spec.registrationSharedSecret,
    enable_registration: false,
    // Test federation between the two loopback homeservers only.
    federation_verify_certificates: false,
    ip_range_whitelist: ['127.0.0.0/8', '::1/128'],
    federation: { destination_min_retry_interval: '1s', destination_max_retry_interval: '5s' },
    bcrypt_rounds: 4,
    presence: { enabled: false },
    url_preview_enabled: false,
    enable_metrics: false,
    caches: { sync_response_cache_duration: 0 },
    rc_message: unlimited,
    rc_registration: unlimited,
    rc_login: { address: unlimited, account: unlimited, failed_attempts: unlimited },
    rc_joins: { local: unlimited, remote: unlimited },
    rc_joins_per_room: unlimited,
    rc_invites: { per_room: unlimited, per_user: unlimited, per_issuer: unlimited },
    rc_third_party_invite: unlimited,
    rc_room_creation: unlimited,
    rc_delayed_event_mgmt: unlimited,
    rc_presence: { per_user: unlimited },
    rc_profile: unlimited,
    rc_media_create: unlimited,
    rc_key_requests: unlimited,
    rc_admin_redaction: unlimited,
    rc_reports: unlimited,
    rc_user_directory: unlimited,
    rc_federation: { window_size: 1000, sleep_limit: 10_000, sleep_delay: 1, reject_limit: 100_000, concurrent: 100 },
    ...(spec.bare === true
      ? {}
      : {
          max_event_delay_duration: '24h',
          experimental_features: {
            msc4143_enabled: true,
            msc4140_max_delayed_events_per_user: 1000,
            msc4222_enabled: true,
            msc4354_enabled: true,
          },
        }),
    app_service_config_files: spec.appserviceRegistrations,
    ...rtc,
  };
}

export function writeHomeserverConfig(spec: HomeserverSpec): string {
  const dir = dataDir(spec);
  mkdirSync(join(dir, 'media'), { recursive: true });
  ensureSigningKey(join(dir, 'signing.key'));
  const file = join(dir, 'homeserver.yaml');
  writeFileSync(file, stringifyYaml(homeserverConfig(spec)), { mode: 0o600 });
  return file;
}

export function startHomeserver(part: string, spec: HomeserverSpec): number {
  const file = writeHomeserverConfig(spec);
  return startDetached({
    part,
    command: synapsePython,
    args: ['-m', 'synapse.app.homeserver', '-c', file],
    cwd: dataDir(spec),
  });
}

/** Healthy when both the plain client listener and the TLS federation listener answer. */
export async function homeserverHealthy(spec: HomeserverSpec): Promise<boolean> {
  const client = await getText(`${clientUrl(spec)}/health`);
  if (client.status !== 200) return false;
  const fed = await getText(`${federationUrl(spec)}/_matrix/federation/v1/version`, { caFile: tlsCert });
  return fed.status === 200;
}
