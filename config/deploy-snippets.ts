/**
 * What the homeserver and LiveKit need to know about this service, as text to paste: the
 * homeserver.yaml settings (appservice registration, delayed events, MatrixRTC transports and the
 * matching `.well-known/matrix/client` entry) and the LiveKit settings (API key, webhook to us, no
 * room created by a stray client). Printed by `causerie homeserver-config` / `livekit-config`.
 * Secrets are never printed: the LiveKit secret appears as a placeholder.
 */
import type { Config } from './schema.ts';

const trim = (url: string): string => url.replace(/\/+$/, '');

/** The URL browsers and other homeservers' clients use to reach this service. */
export const publicUrlOf = (config: Config): string => trim(config.appservice.public_url ?? config.appservice.url);

/** How long a delayed event may be scheduled for; our delayed leaves need far less. */
export const DELAYED_EVENT_MAX = '24h';

export function homeserverSnippet(config: Config): string {
  const service = publicUrlOf(config);
  return `# Causerie: add to Synapse's homeserver.yaml (merge with keys you already have), then restart it.

# The appservice registration written by \`causerie generate-registration\` (readable by Synapse).
app_service_config_files:
  - ${config.appservice.registration}

# Delayed events (MSC4140): a closed tab leaves the call by itself.
max_event_delay_duration: ${DELAYED_EVENT_MAX}

experimental_features:
  # MatrixRTC transports (MSC4143): clients ask which SFU service to use.
  msc4143_enabled: true
  # Sticky events (MSC4354), for clients in Matrix 2.0 mode.
  msc4354_enabled: true

matrix_rtc:
  transports:
    - type: livekit
      livekit_service_url: ${service}

# The same in /.well-known/matrix/client, for clients that read it there.
extra_well_known_client_content:
  org.matrix.msc4143.rtc_foci:
    - type: livekit
      livekit_service_url: ${service}
`;
}

/**
 * The entry to merge into `/.well-known/matrix/client` when a web server (not Synapse) serves it,
 * next to its `m.homeserver`.
 */
export function wellKnownClient(config: Config): Record<string, unknown> {
  return { 'org.matrix.msc4143.rtc_foci': [{ type: 'livekit', livekit_service_url: publicUrlOf(config) }] };
}

export function livekitSnippet(config: Config): string {
  const key = config.livekit.api_key;
  return `# Causerie: add to LiveKit's livekit.yaml (merge with keys you already have), then restart it.

keys:
  # The secret is Causerie's livekit.api_secret (or CAUSERIE_LIVEKIT_API_SECRET): paste it here.
  ${key}: <the secret of ${key}>

# Room and participant events to Causerie (revocation, call state). LiveKit signs them with this key.
webhook:
  api_key: ${key}
  urls:
    - ${trim(config.appservice.url)}/livekit/webhook

room:
  # Only Causerie creates rooms: a client with a stray token cannot open one.
  auto_create: false
`;
}
