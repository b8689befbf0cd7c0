/**
 * Our own MatrixRTC transport: the SFU our homeserver names (client well-known
 * `org.matrix.msc4143.rtc_foci`), where we publish; as Element Call does, so a partner whose
 * organisation runs its own SFU publishes there. None named, or the homeserver not answering
 * quickly: the Causerie service that served the page.
 */
import { transportFromWellKnown } from '../core/sfu-plan.ts';

/** The well-known is asked while the host handshake goes on; a slow one must not delay the call. */
const WELL_KNOWN_TIMEOUT_MS = 3_000;

export async function ownTransport(userId: string, fallback: string): Promise<string> {
  const server = /^@[^:]+:(.+)$/.exec(userId)?.[1];
  if (server === undefined) return fallback;
  try {
    const res = await fetch(`https://${server}/.well-known/matrix/client`, {
      signal: AbortSignal.timeout(WELL_KNOWN_TIMEOUT_MS),
    });
    if (!res.ok) return fallback;
    return transportFromWellKnown(await res.json()) ?? fallback;
  } catch {
    return fallback;
  }
}
