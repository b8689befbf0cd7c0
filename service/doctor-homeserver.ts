/**
 * `causerie doctor`'s homeserver checks: reachable, appservice registration loaded (as_token, bot),
 * delayed events long enough, this service advertised as MatrixRTC transport (MSC4143 endpoint and
 * well-known), the federation OpenID endpoint as partners' services reach it, TLS certificates.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { checkServerIdentity, connect as tlsConnect, rootCertificates, type PeerCertificate } from 'node:tls';

import { Agent, fetch, type RequestInit } from 'undici';

import { publicUrlOf } from '../config/deploy-snippets.ts';
import { readRegistration, type Registration } from '../config/registration.ts';
import type { Config } from '../config/schema.ts';
import { createFederation } from '../federation/federation.ts';
import { field, getJson, MIN_DELAY_MS, Problem, reachFailure, TIMEOUT_MS, type Check } from './doctor.ts';

/** A certificate closer to expiry than this is a ✗: renewal has failed somewhere. */
const CERT_MIN_DAYS = 7;

function trusting(caFile: string): Agent {
  return new Agent({ connect: { ca: [...rootCertificates, readFileSync(caFile, 'utf8')] } });
}

/** The certificate a TLS server presents for `host`, verified (the CA file trusted besides the system's). */
function peerCertificate(
  t: { host: string; port: number; address: string },
  caFile: string | undefined,
): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: t.address,
      port: t.port,
      servername: isIP(t.host) === 0 ? t.host : undefined,
      ...(caFile === undefined ? {} : { ca: [...rootCertificates, readFileSync(caFile, 'utf8')] }),
      checkServerIdentity: (_host, cert) => checkServerIdentity(t.host, cert),
      timeout: TIMEOUT_MS,
    });
    socket.once('secureConnect', () => {
      resolve(socket.getPeerCertificate());
      socket.end();
    });
    socket.once('timeout', () => {
      socket.destroy(new Error('timed out'));
    });
    socket.once('error', reject);
  });
}

export function homeserverChecks(config: Config, configPath: string): Check[] {
  const hs = config.homeserver.url.replace(/\/+$/, '');
  const service = publicUrlOf(config);
  const bot = `@${config.appservice.sender_localpart}:${config.homeserver.domain}`;
  let registration: Registration | undefined;
  let federationEndpoint: { host: string; port: number; address: string } | undefined;
  const asToken = (): string => registration?.as_token ?? '';
  const clientAuth = (): RequestInit => ({ headers: { authorization: `Bearer ${asToken()}` } });
  const hsSnippet = `add to homeserver.yaml what \`causerie homeserver-config -c ${configPath}\` prints, then restart Synapse`;

  return [
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
        const { http: federation, discovery } = createFederation({
          timeoutMs: TIMEOUT_MS,
          caFile: config.federation.ca_file,
          dnsServers: config.federation.dns_servers,
          dnsTimeoutMs: config.federation.dns_timeout_ms,
          privateAddressServers: config.federation.private_address_servers,
          discoveryCacheMs: 0,
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
        federationEndpoint = {
          host: endpoint.host,
          port: endpoint.port,
          address: endpoint.addresses[0] ?? endpoint.host,
        };
        return `${endpoint.host}:${endpoint.port}`;
      },
    },
    {
      id: 'well_known',
      title: 'well-known client file names this service (clients that read it there)',
      needs: ['federation_openid'],
      run: async () => {
        const url = `https://${config.homeserver.domain}/.well-known/matrix/client`;
        const res = await fetch(url, {
          signal: AbortSignal.timeout(TIMEOUT_MS),
          ...(config.federation.ca_file === undefined ? {} : { dispatcher: trusting(config.federation.ca_file) }),
        }).catch((err: unknown) => {
          throw new Problem(
            `${url} cannot be fetched: ${(err as Error).message}`,
            `serve it over HTTPS, with the entry \`causerie homeserver-config -c ${configPath}\` prints`,
          );
        });
        const body: unknown = await res.json().catch(() => undefined);
        const foci = field(body, 'org.matrix.msc4143.rtc_foci');
        const urls = Array.isArray(foci) ? foci.map((f) => field(f, 'livekit_service_url')) : [];
        if (!urls.includes(service))
          throw new Problem(
            `${url} ${res.ok ? `names ${urls.length === 0 ? 'no rtc_foci' : urls.map(String).join(', ')}` : `answered ${res.status}`}, not ${service}`,
            hsSnippet,
          );
        return url;
      },
    },
    {
      id: 'tls',
      title: 'TLS certificates valid, not about to expire',
      needs: ['federation_openid'],
      run: async () => {
        const targets: { name: string; host: string; port: number; address: string }[] = [];
        if (federationEndpoint !== undefined) targets.push({ name: 'federation', ...federationEndpoint });
        const pub = new URL(service);
        if (pub.protocol === 'https:')
          targets.push({
            name: 'public URL',
            host: pub.hostname,
            port: Number(pub.port || 443),
            address: pub.hostname,
          });
        const found: string[] = [];
        for (const t of targets) {
          let cert: PeerCertificate;
          try {
            cert = await peerCertificate(t, config.federation.ca_file);
          } catch (err) {
            // Not reaching it at all is another check's finding; a certificate refused is this one's.
            const code = (err as { code?: unknown }).code;
            if (typeof code !== 'string' || !/CERT|SELF_SIGNED|UNABLE_TO|ALTNAME|HOSTNAME/.test(code)) {
              found.push(`${t.name} ${t.host}:${t.port} not reached`);
              continue;
            }
            throw new Problem(
              `${t.name} ${t.host}:${t.port}: ${(err as Error).message}`,
              'serve a certificate for that name from a CA browsers and homeservers trust (e.g. Let’s Encrypt)',
            );
          }
          const days = Math.floor((Date.parse(cert.valid_to) - Date.now()) / 86_400_000);
          if (days < CERT_MIN_DAYS)
            throw new Problem(
              `${t.name} ${t.host}:${t.port}: the certificate ${days < 0 ? 'has expired' : `expires in ${days} days`}`,
              'renew it (and automate renewal)',
            );
          found.push(`${t.name} ${t.host}:${t.port} valid ${days} more days`);
        }
        if (pub.protocol !== 'https:' && !['127.0.0.1', 'localhost', '[::1]'].includes(pub.hostname))
          throw new Problem(
            `the public URL ${service} is not HTTPS: browsers refuse camera and microphone there`,
            'serve it over HTTPS behind the reverse proxy',
          );
        return found.join(', ');
      },
    },
  ];
}
