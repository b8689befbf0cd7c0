/**
 * What `causerie doctor` checks, in order: configuration, database, the homeserver
 * (doctor-homeserver.ts: reachable, registration loaded, delayed events, this service advertised as
 * MatrixRTC transport, federation OpenID endpoint, well-known, TLS), LiveKit (reachable,
 * credentials), this service (running, public URL and widget), LiveKit's webhooks arriving,
 * auto_create off, clocks.
 */
import { randomBytes } from 'node:crypto';

import { AccessToken } from 'livekit-server-sdk';
import { fetch } from 'undici';

import { publicUrlOf } from '../config/deploy-snippets.ts';
import type { Config } from '../config/schema.ts';
import { readRegistration } from '../config/registration.ts';
import { DOCTOR_ROOM_PREFIX } from '../core/livekit-names.ts';
import { openDatabase } from '../schema/database.ts';
import { listMigrations } from '../schema/migrate.ts';
import {
  field,
  getJson,
  livekitClient,
  MAX_SKEW_MS,
  Problem,
  reachFailure,
  TIMEOUT_MS,
  WEBHOOK_WAIT_MS,
  type Check,
} from './doctor.ts';
import { homeserverChecks } from './doctor-homeserver.ts';
import { livekitHttpUrl } from './start.ts';

export function doctorChecks(config: Config, configPath: string): Check[] {
  const hs = config.homeserver.url.replace(/\/+$/, '');
  const service = publicUrlOf(config);

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
    ...homeserverChecks(config, configPath),
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
      id: 'ping',
      title: "the homeserver reaches this service's appservice API (ping, hs_token)",
      needs: ['registration', 'service'],
      run: async () => {
        const reg = readRegistration(config.appservice.registration);
        const hs = config.homeserver.url.replace(/\/+$/, '');
        const res = await getJson(`${hs}/_matrix/client/v1/appservice/${encodeURIComponent(reg.id)}/ping`, {
          method: 'POST',
          body: '{}',
          headers: { authorization: `Bearer ${reg.as_token}`, 'content-type': 'application/json' },
        });
        if (res.status === 200) return `answered in ${String(field(res.body, 'duration_ms'))} ms`;
        const errcode = String(field(res.body, 'errcode'));
        if (errcode === 'M_BAD_STATUS')
          throw new Problem(
            `this service refused the homeserver's call (${String(field(res.body, 'status'))}): the hs_token Synapse has is not the one in ${config.appservice.registration}`,
            'give Synapse the same registration file this service reads (copy it again), then restart Synapse',
          );
        throw new Problem(
          `the homeserver could not reach ${config.appservice.url} (${errcode}: ${String(field(res.body, 'error'))})`,
          'set url in the registration to an address Synapse reaches (appservice.url), and open that port to Synapse',
        );
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
