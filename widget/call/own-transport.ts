/**
 * Our own MatrixRTC transport: the SFU our homeserver names (client well-known
 * `org.matrix.msc4143.rtc_foci`), where we publish; as Element Call does, so a partner whose
 * organisation runs its own SFU publishes there. None named, or the homeserver not answering
 * quickly: the Causerie service that served the page.
 */
import { transportFromWellKnown } from '../core/sfu-plan.ts';

/** The well-known is asked while the host handshake goes on; a slow one must not delay the call. */
const WELL_KNOWN_TIMEOUT_MS = 3_000;

/** The transport a client well-known names, or undefined (not answering, not naming one). */
async function fromWellKnown(url: string): Promise<string | undefined> {
  const res = await fetch(url, { signal: AbortSignal.timeout(WELL_KNOWN_TIMEOUT_MS) });
  if (!res.ok) return undefined;
  return transportFromWellKnown(await res.json());
}

/**
 * Asks the well-known at our server name and, when the host gave it, at our homeserver's base URL
 * (what a homeserver behind another name, or a local one whose name has no valid certificate,
 * answers): the first that names a transport wins.
 */
export async function ownTransport(userId: string, fallback: string, baseUrl?: string): Promise<string> {
  const server = /^@[^:]+:(.+)$/.exec(userId)?.[1];
  const urls = [
    ...(server === undefined ? [] : [`https://${server}/.well-known/matrix/client`]),
    ...(baseUrl !== undefined && /^https?:\/\//.test(baseUrl)
      ? [`${baseUrl.replace(/\/+$/, '')}/.well-known/matrix/client`]
      : []),
  ];
  const named = urls.map(async (url) => {
    const transport = await fromWellKnown(url);
    if (transport === undefined) throw new Error('names no transport');
    return transport;
  });
  try {
    return await Promise.any(named);
  } catch {
    return fallback;
  }
}
