/**
 * Per-participant media keys, to Element Call's wire format and timing (matrix-js-sdk's
 * RTCEncryptionManager): each device has its own 16-byte key, sent Olm-encrypted as the to-device
 * event `io.element.call.encryption_keys` to every other device in the call. A new key (next index,
 * 0–255 wrapping) when someone leaves, so a removed person cannot decrypt what follows; a joiner
 * gets the current key if it is under 10 s old, else everyone gets a new one. A new key is used
 * for our own media 1 s after it is sent (so it arrives first); the very first at once.
 *
 * Received keys are refused unless the host decrypted them (Olm), they name this room, and they come
 * from a user whose device (`claimed_device_id`, which must be the Olm-authenticated sending device
 * where the client says which) is a current call member; a key from a device not
 * (yet) in the call waits briefly for its membership. Pure: the transport, LiveKit's key setter,
 * randomness and time are given.
 */
import { memberIdentity, type CallMember } from './call-members.ts';

export const ENCRYPTION_KEYS_EVENT = 'io.element.call.encryption_keys';

export interface KeysContent {
  keys: { index: number; key: string };
  room_id: string;
  member: { id: string; claimed_device_id: string };
  session: { application: 'm.call'; call_id: ''; scope: 'm.room' };
  sent_ts: number;
}

export interface ToDeviceMessage {
  type: string;
  sender: string;
  /** Decrypted by the host (Olm); a clear message is never a key. */
  encrypted: boolean;
  /** The sending device as Olm authenticated it, when the client says (not through the widget API). */
  senderDevice?: string | undefined;
  content: unknown;
}

export interface MediaKeysDeps {
  own: { userId: string; deviceId: string; memberId: string };
  roomId: string;
  /** Sends `content` encrypted to each device. */
  send(targets: { userId: string; deviceId: string }[], content: KeysContent): Promise<void>;
  /** Gives LiveKit a raw key for a participant identity at an index. */
  setKey(identity: string, index: number, key: Uint8Array<ArrayBuffer>): void;
  /** A key failed to go out (the host cannot encrypt): the call cannot be encrypted. */
  onSendFailed(err: unknown): void;
  /** Keys arrived for someone (their tile stops waiting). */
  onKeysChanged(): void;
  now(): number;
  sleep(ms: number): Promise<void>;
  random(bytes: number): Uint8Array<ArrayBuffer>;
  useKeyDelayMs?: number;
  rotationGraceMs?: number;
}

/** Why a message was not taken as a key (for logs and tests). */
export type KeyRefusal =
  | 'not_keys'
  | 'unencrypted'
  | 'malformed'
  | 'other_room'
  | 'own_device'
  | 'wrong_device'
  | 'outdated';

const KEY_BYTES = 16;
/** Keys waiting for their sender's membership: how many and how long. */
const MAX_PENDING = 64;
const PENDING_MS = 60_000;

interface Outbound {
  key: Uint8Array<ArrayBuffer>;
  index: number;
  createdAt: number;
  /** Devices it was sent to, with the membership they had (a re-joined device needs it again). */
  sharedWith: Map<string, number>;
}

interface Pending {
  sender: string;
  deviceId: string;
  index: number;
  key: Uint8Array<ArrayBuffer>;
  sentTs: number;
  at: number;
}

export class MediaKeys {
  private outbound: Outbound | undefined;
  private rollout: Promise<void> | undefined;
  private again = false;
  private members: CallMember[] = [];
  private stopped = false;
  private pending: Pending[] = [];
  /** Highest `sent_ts` seen per sender device and index: an older key at that index is stale. */
  private readonly latest = new Map<string, number>();
  /** Identities we hold a key for. */
  private readonly keyed = new Set<string>();
  private readonly useKeyDelayMs: number;
  private readonly rotationGraceMs: number;

  constructor(private readonly deps: MediaKeysDeps) {
    this.useKeyDelayMs = deps.useKeyDelayMs ?? 1_000;
    this.rotationGraceMs = deps.rotationGraceMs ?? 10_000;
  }

  private get ownIdentity(): string {
    return memberIdentity(this.deps.own);
  }

  /** Our first key, used at once for our own media. */
  start(): void {
    if (this.outbound !== undefined) return;
    this.outbound = this.newOutbound(0);
    this.useOwn(this.outbound);
  }

  stop(): void {
    this.stopped = true;
    this.pending = [];
    this.keyed.clear();
  }

  /** Whether a key for this LiveKit identity has arrived (ours: always once started). */
  hasKeyFor(identity: string): boolean {
    return this.keyed.has(identity);
  }

  /** The call's members changed: share or rotate our key, and take keys that waited for them. */
  membersChanged(members: CallMember[]): void {
    if (this.stopped) return;
    this.members = members;
    this.takePending();
    if (this.rollout !== undefined) {
      this.again = true;
      return;
    }
    this.rollout = this.roll().finally(() => {
      this.rollout = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        this.membersChanged(this.members);
      }
    });
  }

  /** Resolves when no key distribution is going on (tests, leave). */
  async settled(): Promise<void> {
    while (this.rollout !== undefined) await this.rollout;
  }

  private async roll(): Promise<void> {
    this.start();
    const current = this.outbound;
    if (current === undefined) return;
    const others = this.members.filter(
      (m) => !(m.userId === this.deps.own.userId && m.deviceId === this.deps.own.deviceId),
    );
    const now = this.deps.now();
    const anyLeft = [...current.sharedWith.entries()].some(
      ([id, created]) => !others.some((m) => memberIdentity(m) === id && m.createdTs === created),
    );
    const joined = others.filter((m) => current.sharedWith.get(memberIdentity(m)) !== m.createdTs);
    let target = current;
    let to: CallMember[];
    if (anyLeft || (joined.length > 0 && now - current.createdAt >= this.rotationGraceMs)) {
      target = this.newOutbound((current.index + 1) % 256);
      this.outbound = target;
      to = others;
    } else {
      to = joined;
    }
    if (to.length === 0) {
      // Nobody left to tell: the new key is ours alone, from now on.
      if (target !== current) this.useOwn(target);
      return;
    }
    try {
      await this.deps.send(
        to.map((m) => ({ userId: m.userId, deviceId: m.deviceId })),
        this.content(target),
      );
    } catch (err) {
      this.deps.onSendFailed(err);
      return;
    }
    for (const m of to) target.sharedWith.set(memberIdentity(m), m.createdTs);
    if (target !== current) {
      // Give the new key time to arrive before our media uses it.
      await this.deps.sleep(this.useKeyDelayMs);
      if (!this.stopped && this.outbound === target) this.useOwn(target);
    }
  }

  private newOutbound(index: number): Outbound {
    return { key: this.deps.random(KEY_BYTES), index, createdAt: this.deps.now(), sharedWith: new Map() };
  }

  private useOwn(o: Outbound): void {
    this.keyed.add(this.ownIdentity);
    this.deps.setKey(this.ownIdentity, o.index, o.key);
  }

  private content(o: Outbound): KeysContent {
    return {
      keys: { index: o.index, key: toBase64(o.key) },
      room_id: this.deps.roomId,
      member: { id: this.deps.own.memberId, claimed_device_id: this.deps.own.deviceId },
      session: { application: 'm.call', call_id: '', scope: 'm.room' },
      sent_ts: this.deps.now(),
    };
  }

  /** A to-device message from the host: a key is taken, or refused with the reason. */
  received(msg: ToDeviceMessage): 'taken' | 'pending' | KeyRefusal {
    if (msg.type !== ENCRYPTION_KEYS_EVENT) return 'not_keys';
    if (this.stopped) return 'not_keys';
    // matrix-js-sdk takes clear keys too: anyone on the federation could then inject one.
    if (!msg.encrypted) return 'unencrypted';
    const parsed = parseKeys(msg.content);
    if (parsed === undefined) return 'malformed';
    if (parsed.roomId !== this.deps.roomId) return 'other_room';
    if (msg.sender === this.deps.own.userId && parsed.deviceId === this.deps.own.deviceId) return 'own_device';
    // Where the client tells us which device Olm authenticated, the key must be that device's.
    if (msg.senderDevice !== undefined && msg.senderDevice !== parsed.deviceId) return 'wrong_device';
    const p: Pending = { sender: msg.sender, ...parsed, at: this.deps.now() };
    const slot = `${p.sender}|${p.deviceId}|${p.index}`;
    if ((this.latest.get(slot) ?? -Infinity) > p.sentTs) return 'outdated';
    this.latest.set(slot, p.sentTs);
    if (!this.isMember(p.sender, p.deviceId)) {
      // Its membership may reach us after the key: keep it a little while.
      this.pending.push(p);
      if (this.pending.length > MAX_PENDING) this.pending.shift();
      return 'pending';
    }
    this.apply(p);
    return 'taken';
  }

  private isMember(userId: string, deviceId: string): boolean {
    return this.members.some((m) => m.userId === userId && m.deviceId === deviceId);
  }

  private takePending(): void {
    const now = this.deps.now();
    const waiting = this.pending.filter((p) => now - p.at < PENDING_MS);
    this.pending = [];
    for (const p of waiting) {
      if (this.isMember(p.sender, p.deviceId)) this.apply(p);
      else this.pending.push(p);
    }
  }

  private apply(p: Pending): void {
    const identity = memberIdentity({ userId: p.sender, deviceId: p.deviceId });
    this.deps.setKey(identity, p.index, p.key);
    this.keyed.add(identity);
    this.deps.onKeysChanged();
  }
}

/** The key, its index, room and sender device from a key event's content, or undefined. */
function parseKeys(
  content: unknown,
): { roomId: string; index: number; key: Uint8Array<ArrayBuffer>; deviceId: string; sentTs: number } | undefined {
  if (typeof content !== 'object' || content === null) return undefined;
  const c = content as Record<string, unknown>;
  const keys = record(c['keys']);
  const member = record(c['member']);
  if (keys === undefined || member === undefined) return undefined;
  const index = keys['index'];
  const key = typeof keys['key'] === 'string' && keys['key'].length <= 64 ? fromBase64(keys['key']) : undefined;
  const deviceId = member['claimed_device_id'];
  const roomId = c['room_id'];
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index > 255) return undefined;
  if (key === undefined || key.length < KEY_BYTES || key.length > 32) return undefined;
  if (typeof deviceId !== 'string' || deviceId === '' || deviceId.length > 255) return undefined;
  if (typeof roomId !== 'string') return undefined;
  const session = c['session'] === undefined ? {} : record(c['session']);
  if (session === undefined || (session['application'] !== undefined && session['application'] !== 'm.call'))
    return undefined;
  const sentTs = typeof c['sent_ts'] === 'number' ? c['sent_ts'] : 0;
  return { roomId, index, key, deviceId, sentTs };
}

const record = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/** Padded base64, as Element Call writes keys. */
export function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** Padded or unpadded base64, or undefined when it is not base64. */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  try {
    const s = atob(text.padEnd(Math.ceil(text.length / 4) * 4, '='));
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  } catch {
    return undefined;
  }
}
