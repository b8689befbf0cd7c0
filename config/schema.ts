/**
 * The one configuration schema. Every key is described here; the TypeScript type is derived from
 * it; unknown keys are refused with their path. Secrets may also come from environment variables
 * (see `secretEnv`), which override the file.
 */
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
      user_prefix: z
        .string()
        .min(1)
        .default('causerie_')
        .describe('Localpart prefix of the exclusive user namespace (guest users).'),
    })
    .describe('Application service registration settings.'),
  listen: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1').describe('Address the HTTP server binds.'),
      port: port.default(8480).describe('Port of the HTTP server (token API, appservice API, webhooks, widget).'),
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
} as const;
