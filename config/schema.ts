/**
 * The one configuration schema. Every key is described here; the TypeScript type is derived from
 * it; unknown keys are refused with their path. Secrets may also come from environment variables
 * (see `secretEnv`), which override the file.
 */
import { isIP } from 'node:net';

import { z } from 'zod';

const port = z.number().int().min(1).max(65535);

export const configSchema = z.strictObject({
  homeserver: z
    .strictObject({
      url: z.url().describe('Client-server API base URL of the homeserver this appservice is registered with.'),
      domain: z
        .string()
        .min(1)
        .describe(
          'Server name of that homeserver, as in user ids (@user:domain), e.g. "example.org" or "localhost:8481".',
        ),
    })
    .describe('The homeserver that hosts the rooms and the appservice registration.'),
  appservice: z
    .strictObject({
      id: z.string().min(1).default('causerie').describe('Appservice id, unique on the homeserver.'),
      url: z.url().describe('URL at which the homeserver reaches this service (transactions, user queries).'),
      registration: z
        .string()
        .min(1)
        .describe('Path of the registration YAML file given to the homeserver; holds as_token and hs_token.'),
      sender_localpart: z.string().min(1).default('causerie').describe('Localpart of the bot user.'),
      public_url: z
        .url()
        .optional()
        .describe('URL at which browsers reach this service (the call widget). Default: appservice.url.'),
      stale_membership_grace_seconds: z
        .number()
        .int()
        .min(0)
        .default(10)
        .describe(
          'How long a MatrixRTC membership may outlive its LiveKit participant (a closed tab) before the bot removes it.',
        ),
      remote_call_end_grace_seconds: z
        .number()
        .int()
        .min(1)
        .max(3600)
        .default(30)
        .describe(
          'A call whose members are on other deployments\' SFUs (multi-SFU) ends this long after the last of them left, if nobody came back: one start and one end notice at most per period.',
        ),
      user_prefix: z
        .string()
        .min(1)
        .default('causerie_')
        .describe('Localpart prefix of the exclusive user namespace (guest users).'),
      invite_servers: z
        .array(z.string().min(1))
        .optional()
        .describe(
          'Homeservers whose users may invite the bot into a room; invites from others are declined with a reason. Default: our own homeserver only.',
        ),
      reconcile_interval_seconds: z
        .number()
        .int()
        .min(1)
        .max(3600)
        .default(30)
        .describe(
          'How often LiveKit is reconciled with Matrix: participants whose membership ended are removed, calls whose LiveKit room vanished are recreated or ended, participants are recounted.',
        ),
      max_rooms: z
        .number()
        .int()
        .min(1)
        .default(10_000)
        .describe('Most rooms the bot stays in; invites beyond are declined with a reason.'),
    })
    .describe('Application service registration settings.'),
  listen: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1').describe('Address the HTTP server binds.'),
      port: port.default(8480).describe('Port of the HTTP server (token API, appservice API, webhooks, widget).'),
      trust_proxy: z
        .union([z.boolean(), z.number().int().min(0), z.string().min(1)])
        .default(false)
        .describe(
          'Behind a reverse proxy: which X-Forwarded-For hops to trust for the client address (rate limiting), as Express "trust proxy" takes it (true, a hop count, or addresses/subnets).',
        ),
    })
    .prefault({})
    .describe('Where the HTTP server listens.'),
  livekit: z
    .strictObject({
      url: z.url().describe('WebSocket URL of the LiveKit server that clients connect to (ws:// or wss://).'),
      api_key: z.string().min(1).describe('LiveKit API key.'),
      api_secret: z
        .string()
        .min(32, 'must be at least 32 characters')
        .describe('LiveKit API secret (env CAUSERIE_LIVEKIT_API_SECRET).'),
    })
    .describe('The LiveKit SFU.'),
  token: z
    .strictObject({
      ttl_seconds: z
        .number()
        .int()
        .min(60)
        .max(3600)
        .default(900)
        .describe('Lifetime of issued LiveKit JWTs. LiveKit refreshes the token of a connected client itself.'),
      moderator_power_level: z
        .number()
        .int()
        .default(50)
        .describe(
          'Room power level from which a member may end the call for everyone (`!call end`). No participant token carries LiveKit roomAdmin.',
        ),
      full_access_servers: z
        .array(z.string().min(1))
        .optional()
        .describe(
          'Homeservers whose users may start a call (cause the LiveKit room to be created). Default: our own homeserver only.',
        ),
      remote_users: z
        .enum(['publish', 'subscribe', 'deny'])
        .default('publish')
        .describe(
          'What joined members from other homeservers may do: publish media, only subscribe, or nothing (no token).',
        ),
    })
    .prefault({})
    .describe('LiveKit token issuance (/sfu/get, /get_token).'),
  federation: z
    .strictObject({
      allow_servers: z
        .array(z.string().min(1))
        .default([])
        .describe(
          'If not empty, only users of these homeservers (server names) may get tokens: closed federation. Checked before any network call.',
        ),
      deny_servers: z
        .array(z.string().min(1))
        .default([])
        .describe('Users of these homeservers never get tokens. Checked before any network call.'),
      private_address_servers: z
        .array(z.string().min(1))
        .default([])
        .describe(
          'Server names allowed to resolve to loopback, private or link-local addresses (a local test federation). Everything else that does is refused.',
        ),
      ca_file: z
        .string()
        .min(1)
        .optional()
        .describe('Extra PEM certificate(s) trusted for federation TLS, besides the system store.'),
      timeout_ms: z
        .number()
        .int()
        .min(100)
        .max(60_000)
        .default(5_000)
        .describe('Timeout of each federation request (well-known, OpenID userinfo).'),
      discovery_cache_seconds: z
        .number()
        .int()
        .min(0)
        .default(300)
        .describe('How long a resolved server name (address, port) is reused.'),
      dns_servers: z
        .array(
          z.string().refine(
            // The forms node:dns setServers takes: ip, ipv4:port, [ipv6], [ipv6]:port.
            (s) => isIP(s.replace(/^\[(.+)\](:\d{1,5})?$|^([^:]+):\d{1,5}$/, '$1$3')) !== 0,
            'must be an IP address, optionally with :port (IPv6 as [address]:port)',
          ),
        )
        .default([])
        .describe(
          'DNS servers for resolving server names ("ip" or "ip:port", IPv6 as "[ip]:port"). Empty: those of /etc/resolv.conf.',
        ),
      dns_timeout_ms: z
        .number()
        .int()
        .min(100)
        .max(30_000)
        .default(2_000)
        .describe(
          'Deadline of one server-name resolution (all DNS queries and retries); past it the token request fails with 504.',
        ),
    })
    .prefault({})
    .describe("Talking to users' homeservers over federation (OpenID verification)."),
  rate_limit: z
    .strictObject({
      per_second: z.number().positive().default(50).describe('Token requests per second allowed per client address.'),
      burst: z.number().int().positive().default(200).describe('Requests a client address may send at once.'),
    })
    .prefault({})
    .describe('Rate limit of the token endpoints.'),
  guests: z
    .strictObject({
      enabled: z
        .boolean()
        .default(true)
        .describe('Members who may invite can create guest links (people with no Matrix account join one call).'),
      default_expiry_seconds: z
        .number()
        .int()
        .min(10)
        .default(86_400)
        .describe('Lifetime of a guest link when its creator does not choose one (24 h).'),
      max_expiry_seconds: z
        .number()
        .int()
        .min(10)
        .default(7 * 86_400)
        .describe('Longest lifetime a guest link may have; guests are removed and their accounts closed at expiry.'),
      max_guests_per_link: z
        .number()
        .int()
        .min(1)
        .default(50)
        .describe('Most guest accounts one (multi-use) link may create.'),
      redeem_per_minute: z
        .number()
        .int()
        .min(1)
        .default(30)
        .describe('Guest links opened (checked or redeemed) per minute and client address.'),
    })
    .prefault({})
    .refine((g) => g.default_expiry_seconds <= g.max_expiry_seconds, {
      message: 'default_expiry_seconds must not exceed max_expiry_seconds',
    })
    .describe('Guest links: time-boxed accounts for people with no Matrix account.'),
  metrics: z
    .strictObject({
      enabled: z
        .boolean()
        .default(true)
        .describe('Serve Prometheus metrics at GET /metrics. When false, /metrics answers 404 like any unknown path.'),
      bearer_token: z
        .string()
        .min(16, 'must be at least 16 characters')
        .optional()
        .describe(
          'If set, GET /metrics requires "Authorization: Bearer <token>" (env CAUSERIE_METRICS_TOKEN). Without it, anyone who reaches the HTTP port can read the metrics.',
        ),
    })
    .prefault({})
    .describe('The Prometheus metrics endpoint.'),
  widget: z
    .strictObject({
      dev_host: z
        .boolean()
        .default(false)
        .describe(
          'Also serve the test host page at /dev/host/ (a minimal Matrix client embedding the widget). For local development and demos only.',
        ),
    })
    .prefault({})
    .describe('The call widget served at /widget/.'),
  database: z
    .strictObject({
      url: z
        .string()
        .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
        .optional()
        .describe('PostgreSQL connection URL (env CAUSERIE_DATABASE_URL). Without it, embedded PGlite is used.'),
      data_dir: z
        .string()
        .min(1)
        .default('./data')
        .describe('Directory of the embedded PGlite database when no url is set.'),
    })
    .prefault({})
    .describe('Where state is kept.'),
});

export type Config = z.infer<typeof configSchema>;

/** Config paths that may be given by environment variable instead of the file. */
export const secretEnv = {
  'livekit.api_secret': 'CAUSERIE_LIVEKIT_API_SECRET',
  'database.url': 'CAUSERIE_DATABASE_URL',
  'metrics.bearer_token': 'CAUSERIE_METRICS_TOKEN',
} as const;
