/**
 * LiveKit SFU on loopback: fixed dev key, rooms created only through the API (auto_create off),
 * webhooks to the Causerie service.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { stringify as stringifyYaml } from 'yaml';

import { getText } from './http-check.ts';
import { livekitBinary } from './install.ts';
import { host, livekitDev, ports, stateDir } from './layout.ts';
import { startDetached } from './processes.ts';

export const livekitHttpUrl = `http://${host}:${ports.livekit.http}`;
export const livekitWsUrl = `ws://${host}:${ports.livekit.http}`;
/** The partner deployment's LiveKit (homeserver B's own SFU). */
export const partnerLivekitHttpUrl = `http://${host}:${ports.partnerLivekit.http}`;
export const partnerLivekitWsUrl = `ws://${host}:${ports.partnerLivekit.http}`;

interface LivekitPorts {
  http: number;
  rtcTcp: number;
  rtcUdp: number;
}

export function livekitConfig(
  webhookUrl: string | undefined,
  p: LivekitPorts = ports.livekit,
): Record<string, unknown> {
  return {
    port: p.http,
    bind_addresses: [host],
    rtc: {
      tcp_port: p.rtcTcp,
      udp_port: p.rtcUdp,
      use_external_ip: false,
      node_ip: host,
      // Without it UDP does not bind 127.0.0.1 and loopback clients get no media path.
      enable_loopback_candidate: true,
    },
    keys: { [livekitDev.apiKey]: livekitDev.apiSecret },
    room: { auto_create: false },
    ...(webhookUrl === undefined ? {} : { webhook: { api_key: livekitDev.apiKey, urls: [webhookUrl] } }),
    logging: { level: 'info', json: false },
  };
}

export function startLivekit(part: string, webhookUrl: string | undefined, p: LivekitPorts = ports.livekit): number {
  const dir = join(stateDir, part);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'livekit.yaml');
  writeFileSync(file, stringifyYaml(livekitConfig(webhookUrl, p)), { mode: 0o600 });
  return startDetached({ part, command: livekitBinary, args: ['--config', file], cwd: dir });
}

export async function livekitHealthy(url = livekitHttpUrl): Promise<boolean> {
  const res = await getText(`${url}/`);
  return res.status === 200;
}
