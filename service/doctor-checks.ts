/**
 * What `causerie doctor` checks, in order: configuration, database, homeserver (reachable,
 * appservice registration loaded, delayed events, this service as MatrixRTC transport), the
 * homeserver's federation OpenID endpoint as partners reach it, LiveKit (reachable, credentials,
 * webhooks arriving, auto_create off), this service (running, public URL and widget), clocks.
 */
import { randomBytes } from 'node:crypto';

import { AccessToken } from 'livekit-server-sdk';
import { fetch, type RequestInit } from 'undici';

import { publicUrlOf } from '../config/deploy-snippets.ts';
import { readRegistration, type Registration } from '../config/registration.ts';
import type { Config } from '../config/schema.ts';
import { DOCTOR_ROOM_PREFIX } from '../core/livekit-names.ts';
import { BoundedDnsResolver } from '../federation/dns-resolver.ts';
import { FederationHttp } from '../federation/federation-http.ts';
import { ServerDiscovery } from '../federation/server-discovery.ts';
import { openDatabase } from '../schema/database.ts';
import { listMigrations } from '../schema/migrate.ts';
import {
  field,
  getJson,
  livekitClient,
  MAX_SKEW_MS,
  MIN_DELAY_MS,
  Problem,
  reachFailure,
  TIMEOUT_MS,
  WEBHOOK_WAIT_MS,
  type Check,
} from './doctor.ts';
import { livekitHttpUrl } from './start.ts';

export function doctorChecks(config: Config, configPath: string): Check[] {
  const hs = config.homeserver.url.replace(/\/+$/, '');
  const service = publicUrlOf(config);
  const bot = `@${config.appservice.sender_localpart}:${config.homeserver.domain}`;
  let registration: Registration | undefined;
  const asToken = (): string => registration?.as_token ?? '';
  const clientAuth = (): RequestInit => ({ headers: { authorization: `Bearer ${asToken()}` } });
  const hsSnippet = `add to homeserver.yaml what \`causerie homeserver-config -c ${configPath}\` prints, then restart Synapse`;

  return [
    {
      id: 'config',
      title: 'configuration valid',
      // The command reaches the checks only with a valid config.
      run: () => Promise.resolve(configPath),
    },
    {
      id: 'database',
      title: 'database reachable and migrated',
      run: async () => {
        if (config.database.url === undefined)
          return `embedded (PGlite) in ${config.database.data_dir}, migrated at start`;
        const db = await openDatabase({ url: config.database.url, dataDir: config.database.data_dir }).catch(
          (err: unknown) => {
            throw new Problem(
              `cannot connect: ${(err as Error).message}`,
              'check database.url (or CAUSERIE_DATABASE_URL), the server and its credentials',
            );
          },
        );
        try {
          await db.query('SELECT 1').catch((err: unknown) => {
            throw new Problem(
              `cannot connect: ${(err as Error).message}`,
              'check database.url (or CAUSERIE_DATABASE_URL), that PostgreSQL runs and accepts these credentials',
            );
          });
          const rows = await db
            .query<{ version: number }>('SELECT version FROM schema_migrations')
            .catch(() => [] as { version: number }[]);
          const applied = new Set(rows.map((r) => r.version));
          const pending = listMigrations().filter((m) => !applied.has(m.version));
          if (pending.length > 0)
            throw new Problem(
              `${pending.length} migration(s) not applied (${pending.map((m) => m.version).join(', ')})`,
              `run \`causerie start -c ${configPath}\` once: it applies them`,
            );
          return `PostgreSQL, ${applied.size} migrations applied`;
        } finally {
          await db.close();
        }
      },
    },
    {
      id: 'homeserver',
      title: 'homeserver reachable',
      run: async () => {
        const res = await getJson(`${hs}/_matrix/client/versions`).catch((err: unknown) => {
          throw reachFailure('The homeserver', hs, err);
        });
        const versions = field(res.body, 'versions');
        if (res.status !== 200 || !Array.isArray(versions))
          throw new Problem(
            `${hs} answered ${res.status}, not a Matrix client API`,
            'set homeserver.url to the client-server API URL the service can reach (e.g. http://synapse:8008)',
          );
        const server = await getJson(`${hs}/_matrix/federation/v1/version`).catch(() => undefined);
        const name = field(server?.body, 'server', 'name');
        const version = field(server?.body, 'server', 'version');
        return typeof name === 'string' ? `${name} ${String(version)}` : `Matrix ${String(versions.at(-1))}`;
      },
    },
    {
      id: 'registration',
      title: 'appservice registration loaded by the homeserver',
      needs: ['homeserver'],
      run: async () => {
        try {
          registration = readRegistration(config.appservice.registration);
        } catch (err) {
          throw new Problem(
            (err as Error).message,
            `run \`causerie generate-registration -c ${configPath}\` and add the file to app_service_config_files`,
          );
        }
        const res = await getJson(`${hs}/_matrix/client/v3/account/whoami`, clientAuth());
        if (res.status === 401 || res.status === 403)
          throw new Problem(
            `the homeserver does not know this registration's as_token (${res.status})`,
            `list ${config.appservice.registration} in app_service_config_files and restart Synapse; after \`generate-registration --force\`, restart it too`,
          );
        const user = field(res.body, 'user_id');
        if (user !== bot)
          throw new Problem(
            `the as_token is ${String(user)}'s, not the bot ${bot}`,
            'check appservice.sender_localpart and homeserver.domain against the registration loaded by Synapse',
          );
        return `as_token accepted (${config.appservice.registration})`;
      },
    },
    {
      id: 'delayed_events',
      title: 'delayed events (MSC4140) enabled, long enough',
      needs: ['registration'],
      run: async () => {
        const res = await getJson(`${hs}/_matrix/client/versions`);
        if (field(res.body, 'unstable_features', 'org.matrix.msc4140') !== true)
          throw new Problem(
            'the homeserver does not offer delayed events',
            `set max_event_delay_duration: 24h in homeserver.yaml and restart Synapse`,
          );
        // A delayed event is refused beyond the maximum: ask for one as long as we need, in no room
        // (the homeserver checks the delay before the room).
        const probe = await getJson(
          `${hs}/_matrix/client/v3/rooms/${encodeURIComponent(`!causerie-doctor:${config.homeserver.domain}`)}/state/m.room.topic/?org.matrix.msc4140.delay=${MIN_DELAY_MS}`,
          {
            method: 'PUT',
            body: '{}',
            headers: { authorization: `Bearer ${asToken()}`, 'content-type': 'application/json' },
          },
        );
        // Synapse: ORG.MATRIX.MSC4140_DELAY_TOO_LARGE, checked before the room (which does not exist).
        if (/DELAY_TOO_LARGE/i.test(String(field(probe.body, 'errcode'))))
          throw new Problem(
            `delays of ${MIN_DELAY_MS / 60_000} min are refused: ${String(field(probe.body, 'error'))}`,
            'set max_event_delay_duration: 24h in homeserver.yaml and restart Synapse',
          );
        return `offered, ${MIN_DELAY_MS / 60_000} min accepted`;
      },
    },
    {
      id: 'transports',
      title: 'homeserver advertises this service as its MatrixRTC transport',
      needs: ['registration'],
      run: async () => {
        const res = await getJson(`${hs}/_matrix/client/unstable/org.matrix.msc4143/rtc/transports`, clientAuth());
        const transports = field(res.body, 'rtc_transports');
        const urls = Array.isArray(transports) ? transports.map((t) => field(t, 'livekit_service_url')) : [];
        if (!urls.includes(service))
          throw new Problem(
            res.status === 404
              ? 'the MSC4143 transports endpoint is off'
              : `it advertises ${urls.length === 0 ? 'no transport' : urls.map(String).join(', ')}, not ${service}`,
            hsSnippet,
          );
        return service;
      },
    },
    {
      id: 'federation_openid',
      title: "homeserver's OpenID endpoint reachable over federation (as partners' services reach it)",
      run: async () => {
        const federation = new FederationHttp({ timeoutMs: TIMEOUT_MS, caFile: config.federation.ca_file });
        const discovery = new ServerDiscovery({
          dns: new BoundedDnsResolver({
            servers: config.federation.dns_servers,
            timeoutMs: config.federation.dns_timeout_ms,
          }),
          fetchWellKnown: (endpoint) => federation.wellKnown(endpoint),
          privateAddressServers: config.federation.private_address_servers,
          cacheMs: 0,
        });
        const endpoint = await discovery.resolve(config.homeserver.domain).catch((err: unknown) => {
          throw new Problem(
            `${config.homeserver.domain} cannot be resolved for federation: ${(err as Error).message}`,
            'publish /.well-known/matrix/server or an SRV record, or open port 8448',
          );
        });
        const res = await federation
          .getJson(endpoint, '/_matrix/federation/v1/openid/userinfo?access_token=causerie-doctor-probe')
          .catch((err: unknown) => {
            throw new Problem(
              `${endpoint.host}:${endpoint.port} cannot be reached: ${(err as Error).message}`,
              'open the federation port to the internet (partners verify their users there) and serve a valid TLS certificate',
            );
          });
        if (res.status !== 401 && res.status !== 403)
          throw new Problem(
            `the OpenID endpoint answered ${res.status}`,
            "expose the homeserver's federation listener (resources: [federation]) at that address",
          );
        return `${endpoint.host}:${endpoint.port}`;
      },
    },
    {
      id: 'livekit',
      title: 'LiveKit reachable, API key and secret valid',
      run: async () => {
        const client = livekitClient(config);
        try {
          const rooms = await client.listRooms();
          return `${config.livekit.url}, ${rooms.length} room(s)`;
        } catch (err) {
          const message = (err as Error).message;
          if (/401|unauthori|permission|signature|invalid token/i.test(message))
            throw new Problem(
              `LiveKit refused the API key or secret (${message})`,
              `make livekit.api_key / api_secret match the keys in livekit.yaml (\`causerie livekit-config -c ${configPath}\`)`,
            );
          throw reachFailure('LiveKit', config.livekit.url, err);
        }
      },
    },
    {
      id: 'service',
      title: 'this service running, its public URL and widget reachable',
      run: async () => {
        const internal = config.appservice.url.replace(/\/+$/, '');
        const health = await getJson(`${internal}/healthz`).catch((err: unknown) => {
          throw new Problem(
            `not answering at ${internal}: ${(err as Error).message}`,
            `start it (\`causerie start -c ${configPath}\`) and check appservice.url and listen`,
          );
        });
        if (health.status !== 200)
          throw new Problem(`${internal}/healthz answered ${health.status}`, 'see the service log');
        const widget = await getJson(`${service}/widget/config.json`).catch((err: unknown) => {
          throw new Problem(
            `the public URL ${service} cannot be reached: ${(err as Error).message}`,
            'check appservice.public_url and the reverse proxy in front of the service (docs/DEPLOY.md)',
          );
        });
        if (widget.status !== 200 || field(widget.body, 'service_url') !== service)
          throw new Problem(
            `${service}/widget/config.json answered ${widget.status}${widget.status === 200 ? ` naming ${String(field(widget.body, 'service_url'))}` : ''}`,
            'route the public URL to this service (its /widget/ and token API), and build the widget (npm run build)',
          );
        return `${internal}, public ${service}`;
      },
    },
    {
      id: 'webhooks',
      title: "LiveKit's webhooks reach this service",
      needs: ['livekit', 'service'],
      run: async () => {
        const client = livekitClient(config);
        const name = `${DOCTOR_ROOM_PREFIX}${randomBytes(6).toString('hex')}`;
        await client.createRoom({ name, emptyTimeout: 5 });
        try {
          const internal = config.appservice.url.replace(/\/+$/, '');
          const deadline = Date.now() + WEBHOOK_WAIT_MS;
          while (Date.now() < deadline) {
            const res = await getJson(`${internal}/_causerie/doctor/webhook/${name}`).catch(() => undefined);
            if (field(res?.body, 'seen') === true) return `room_started of a probe room arrived`;
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
          throw new Problem(
            `no webhook arrived within ${WEBHOOK_WAIT_MS / 1000} s of opening a probe room`,
            `add the webhook section \`causerie livekit-config -c ${configPath}\` prints to livekit.yaml (URL ${internal}/livekit/webhook, api_key ${config.livekit.api_key}) and restart LiveKit`,
          );
        } finally {
          await client.deleteRoom(name).catch(() => undefined);
        }
      },
    },
    {
      id: 'auto_create',
      title: 'LiveKit creates rooms only for this service (auto_create off)',
      needs: ['livekit'],
      run: async () => {
        const token = new AccessToken(config.livekit.api_key, config.livekit.api_secret, {
          identity: 'causerie-doctor',
          ttl: 60,
        });
        token.addGrant({
          roomJoin: true,
          room: `${DOCTOR_ROOM_PREFIX}${randomBytes(6).toString('hex')}`,
          canPublish: false,
          canSubscribe: false,
        });
        const res = await fetch(
          `${livekitHttpUrl(config.livekit.url)}/rtc/validate?access_token=${await token.toJwt()}`,
          {
            signal: AbortSignal.timeout(TIMEOUT_MS),
          },
        );
        const text = await res.text();
        if (res.status === 404 && /does not exist/i.test(text))
          return 'off: a token for a room that does not exist is refused';
        if (res.ok)
          throw new Problem(
            'on: anyone with a token for any room name opens a room',
            'set room: {auto_create: false} in livekit.yaml and restart LiveKit',
          );
        throw new Problem(
          `LiveKit answered ${res.status} to a join check: ${text.slice(0, 120)}`,
          'check the LiveKit version (1.5 or later) and its log',
        );
      },
    },
    {
      id: 'clock',
      title: 'clock in step with the homeserver and LiveKit',
      needs: ['homeserver'],
      run: async () => {
        const skews: string[] = [];
        for (const [name, url] of [
          ['homeserver', `${hs}/_matrix/client/versions`],
          ['LiveKit', `${livekitHttpUrl(config.livekit.url)}/`],
        ] as const) {
          const before = Date.now();
          const res = await getJson(url).catch(() => undefined);
          const date = res?.date === undefined ? NaN : Date.parse(res.date);
          if (Number.isNaN(date)) continue;
          const skew = date - (before + Date.now()) / 2;
          if (Math.abs(skew) > MAX_SKEW_MS)
            throw new Problem(
              `${name}'s clock is ${Math.round(skew / 1000)} s off ours`,
              'run NTP (e.g. systemd-timesyncd or chrony) on every machine',
            );
          skews.push(`${name} ${Math.round(skew / 1000)} s`);
        }
        return skews.length === 0 ? 'no server gave its time' : skews.join(', ');
      },
    },
  ];
}
