/**
 * Which SFUs a call spans (MatrixRTC multi-SFU): each member publishes on the SFU its membership
 * names; we subscribe on every other one, one connection per token service however many members use
 * it. Pure.
 */
import type { CallMember } from './call-members.ts';

/** The other members' token services (not ours), each with the members publishing there. */
export function remoteServices(
  members: readonly CallMember[],
  ownServiceUrl: string,
  me: { userId: string; deviceId: string },
): Map<string, CallMember[]> {
  const own = ownServiceUrl.replace(/\/+$/, '');
  const out = new Map<string, CallMember[]>();
  for (const m of members) {
    if (m.userId === me.userId && m.deviceId === me.deviceId) continue;
    const url = m.serviceUrl?.replace(/\/+$/, '');
    if (url === undefined || url === own) continue;
    const list = out.get(url) ?? [];
    list.push(m);
    out.set(url, list);
  }
  return out;
}

/**
 * Our own transport: the first LiveKit focus our homeserver names in its client well-known
 * (`org.matrix.msc4143.rtc_foci`), or undefined when it names none.
 */
export function transportFromWellKnown(wellKnown: unknown): string | undefined {
  const foci = (wellKnown as Record<string, unknown> | null)?.['org.matrix.msc4143.rtc_foci'];
  if (!Array.isArray(foci)) return undefined;
  for (const f of foci as unknown[]) {
    const o = (typeof f === 'object' && f !== null ? f : {}) as Record<string, unknown>;
    const url = o['livekit_service_url'];
    if (o['type'] === 'livekit' && typeof url === 'string' && /^https?:\/\/\S+$/.test(url) && url.length <= 2048)
      return url.replace(/\/+$/, '');
  }
  return undefined;
}
