/**
 * Guest links, the pure part: the signed link a member hands to someone with no Matrix account, the
 * name a guest may take, and what a guest's session may ask of the homeserver (server/guest-gateway.ts
 * forwards only that). No I/O.
 *
 * A link is `<payload>.<mac>`: the payload (base64url JSON: version, link id, room, expiry) says what
 * the link is for, the mac (HMAC-SHA-256 under a key only the service holds) that we made it. A
 * tampered or forged link is refused before the database is read; the database keeps only a hash of
 * the whole link, so a copy of it holds no usable link.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface GuestLinkClaims {
  /** Link id (random, public: revocation and the audit name it). */
  linkId: string;
  roomId: string;
  /** Expiry, seconds since the epoch. */
  expiresAt: number;
}

const VERSION = 1;
/** A link in a URL stays short: anything longer is not one of ours. */
const MAX_LINK_LENGTH = 1024;

const b64 = (buf: Buffer | string): string => Buffer.from(buf).toString('base64url');

export class GuestLinkSigner {
  private readonly key: Buffer;

  /** `secret`: the service's own secret (the registration's as_token); the key is derived from it. */
  constructor(secret: string) {
    this.key = createHmac('sha256', 'causerie guest links v1').update(secret).digest();
  }

  sign(claims: GuestLinkClaims): string {
    const payload = b64(JSON.stringify({ v: VERSION, l: claims.linkId, r: claims.roomId, e: claims.expiresAt }));
    return `${payload}.${this.mac(payload)}`;
  }

  /** The claims of a link we signed, or undefined for anything else (tampered, forged, malformed). */
  open(link: string): GuestLinkClaims | undefined {
    if (link.length > MAX_LINK_LENGTH) return undefined;
    const m = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/.exec(link);
    if (m === null) return undefined;
    const [, payload = '', mac = ''] = m;
    const expected = Buffer.from(this.mac(payload), 'base64url');
    const given = Buffer.from(mac, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    let claims: unknown;
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return undefined;
    }
    const c = claims as { v?: unknown; l?: unknown; r?: unknown; e?: unknown };
    if (c.v !== VERSION || typeof c.l !== 'string' || typeof c.r !== 'string' || typeof c.e !== 'number')
      return undefined;
    return { linkId: c.l, roomId: c.r, expiresAt: c.e };
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.key).update(`guest-link:${payload}`).digest('base64url');
  }
}

/**
 * Seals a guest account's Matrix access token for the database (AES-256-GCM, key derived from the
 * service's secret): a copy of the database alone gives no access to guest accounts.
 */
export class TokenSealer {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = createHmac('sha256', 'causerie guest tokens v1').update(secret).digest();
  }

  seal(token: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
    return [iv, cipher.getAuthTag(), body].map((b) => b.toString('base64url')).join('.');
  }

  /** The token, or undefined when the sealed text is not ours (another key, altered). */
  open(sealed: string): string | undefined {
    const [iv, tag, body] = sealed.split('.').map((p) => Buffer.from(p, 'base64url'));
    if (iv?.length !== 12 || tag?.length !== 16 || body === undefined) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }
}

/** What the database keeps of a link or a guest session: its SHA-256. */
export const secretHash = (secret: string): string => createHash('sha256').update(secret).digest('hex');

export type GuestLang = 'fr' | 'en';

export const GUEST_SUFFIX: Record<GuestLang, string> = { fr: '(invité)', en: '(guest)' };

/** Longest name a guest may give (before the suffix). */
export const MAX_GUEST_NAME = 64;

/**
 * The display name a guest gets: their name, cleaned (no control, format or bidi characters that
 * could hide or reorder the suffix; spaces collapsed), then the suffix. Undefined when nothing is
 * left to show.
 */
export function guestDisplayName(name: string, lang: GuestLang): string | undefined {
  // Line breaks and tabs become spaces; other control and format characters go, except the zero
  // width joiner that holds emoji sequences together (it cannot reorder anything).
  const cleaned = name
    .normalize('NFC')
    .replace(/\s+/gu, ' ')
    .replace(/(?!\u200d)[\p{Cc}\p{Cf}]/gu, '')
    .replace(/ {2,}/g, ' ')
    .trim();
  if (cleaned.replaceAll('\u200d', '').trim() === '') return undefined;
  // Cut between graphemes: an emoji or an accented letter is never split in two.
  const graphemes = Array.from(new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(cleaned));
  const short = graphemes
    .slice(0, MAX_GUEST_NAME)
    .map((g) => g.segment)
    .join('')
    .trim();
  return `${short} ${GUEST_SUFFIX[lang]}`;
}

/** A guest account's localpart: the namespace prefix, `guest_`, and a random part. */
export const guestLocalpart = (prefix: string, random: string): string => `${prefix}guest_${random.toLowerCase()}`;

/** Whether a user id is a guest account of ours (guests never start calls, invite or moderate). */
export function isGuestUser(userId: string, prefix: string, domain: string): boolean {
  return userId.startsWith(`@${prefix}guest_`) && userId.endsWith(`:${domain}`);
}

export type GatewayDecision = { allow: true; timeoutMs: number } | { allow: false; reason: string };

const CALL_MEMBER_EVENT = 'org.matrix.msc3401.call.member';
const SENDABLE_TO_DEVICE = new Set(['m.room.encrypted']);

const seg = (s: string): string | undefined => {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
};

/**
 * What a guest's session may do on the homeserver: take part in the call of its one room (read the
 * room, join or knock, write its own call membership and its delayed leave, get an OpenID token) and
 * be a Matrix device there (sync, keys, encrypted to-device messages). Nothing else: no other room,
 * no invite, kick or profile change, no room creation, no messages.
 */
export function gatewayDecision(
  req: { method: string; path: string },
  guest: { userId: string; roomId: string },
): GatewayDecision {
  const parts = req.path.split('/');
  const decoded = parts.map(seg);
  if (decoded.some((p) => p === undefined)) return { allow: false, reason: 'bad_path' };
  const p = decoded as string[];
  // Versions: `v3`, `v1`, `r0`, or an unstable prefix.
  const [version, head, ...rest] = p;
  const { method } = req;
  const ok = (timeoutMs = 15_000): GatewayDecision => ({ allow: true, timeoutMs });
  const no = (reason = 'not_for_guests'): GatewayDecision => ({ allow: false, reason });
  if (p.length === 1 && version === 'versions' && method === 'GET') return ok();
  if (version === 'unstable' && head === 'org.matrix.msc4140' && rest[0] === 'delayed_events') {
    if (method === 'GET' && rest.length === 1) return ok();
    if (method === 'POST' && rest.length === 2) return ok();
    return no();
  }
  if (version === 'v1' && head === 'media' && method === 'GET') {
    if (rest[0] === 'config' && rest.length === 1) return ok();
    if ((rest[0] === 'download' || rest[0] === 'thumbnail') && rest.length >= 3) return ok();
    return no();
  }
  if (version !== 'v3' && version !== 'r0') return no();
  const self = guest.userId;
  const room = guest.roomId;
  switch (head) {
    case 'capabilities':
    case 'pushrules':
      return method === 'GET' ? ok() : no();
    case 'account':
      return method === 'GET' && rest.length === 1 && rest[0] === 'whoami' ? ok() : no();
    case 'sync':
      // A long poll: the client asks up to 30 s.
      return method === 'GET' && rest.length === 0 ? ok(60_000) : no();
    case 'keys':
      if (method === 'POST' && rest.length === 1 && ['upload', 'query', 'claim'].includes(rest[0] ?? '')) return ok();
      if (method === 'GET' && rest.length === 1 && rest[0] === 'changes') return ok();
      return no();
    case 'room_keys':
      return method === 'GET' && rest[0] === 'version' ? ok() : no();
    case 'sendToDevice':
      return method === 'PUT' && rest.length === 2 && SENDABLE_TO_DEVICE.has(rest[0] ?? '') ? ok() : no();
    case 'profile':
      return method === 'GET' ? ok() : no();
    case 'user': {
      if (rest[0] !== self) return no();
      if (method === 'POST' && rest.length === 3 && rest[1] === 'openid' && rest[2] === 'request_token') return ok();
      if (rest[1] === 'filter' && ((method === 'POST' && rest.length === 2) || (method === 'GET' && rest.length === 3)))
        return ok();
      if (rest[1] === 'account_data' && method === 'GET') return ok();
      return no();
    }
    case 'join':
    case 'knock':
      return method === 'POST' && rest.length === 1 && rest[0] === room ? ok() : no('other_room');
    case 'rooms': {
      if (rest[0] !== room) return no('other_room');
      const [, what, type, key, ...more] = rest;
      if (method === 'GET') {
        if (rest.length === 2 && (what === 'members' || what === 'joined_members' || what === 'state')) return ok();
        if (what === 'state' && type !== undefined && more.length === 0) return ok();
        return no();
      }
      if (method === 'POST' && rest.length === 2 && (what === 'join' || what === 'leave')) return ok();
      // Its own call membership only: the state key names the guest (MSC3757 forms) or is the guest.
      if (
        method === 'PUT' &&
        what === 'state' &&
        type === CALL_MEMBER_EVENT &&
        key !== undefined &&
        more.length === 0
      ) {
        return key === self || key.startsWith(`${self}_`) || key.startsWith(`_${self}_`) ? ok() : no('not_own_state');
      }
      return no();
    }
    default:
      return no();
  }
}

export interface Guest {
  userId: string;
  linkId: string;
  roomId: string;
  deviceId: string;
  /** The account's Matrix access token (never leaves the service). */
  accessToken: string;
  displayName: string;
  expiresAt: Date;
}

export type GuestEndReason = 'expired' | 'revoked';

export interface NewGuest {
  linkId: string;
  roomId: string;
  displayName: string;
  expiresAt: Date;
  /** Hash of the session secret the guest's page holds. */
  sessionHash: string;
  /** Let in directly: the bot invites the guest. */
  invite: boolean;
}

/** Guest accounts as the HTTP side uses them (appservice/guest-accounts.ts). */
export interface GuestAccountOps {
  create(opts: NewGuest): Promise<Guest>;
  /** Ends every guest a link made; how many. */
  endLink(linkId: string, reason: GuestEndReason): Promise<number>;
  /** The open guest a session belongs to. */
  session(sessionHash: string): Promise<Guest | undefined>;
}
