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

import { ENCRYPTION_KEYS_EVENT } from './call-events.ts';

export { ENCRYPTION_KEYS_EVENT };

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
  'not_keys' | 'unencrypted' | 'malformed' | 'other_room' | 'own_device' | 'wrong_device' | 'outdated';

const KEY_BYTES = 16;
/** Keys waiting for their sender's membership: how many, per sender, and how long. */
const MAX_PENDING = 64;
const MAX_PENDING_PER_SENDER = 8;
const PENDING_MS = 60_000;
/** A key that fails to go out is tried again after these pauses before the call gives up. */
const SEND_RETRIES_MS = [500, 1_500];

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
  /** The key our own media uses now. */
  private inUse: Outbound | undefined;
  /**
   * In the call: the next key, already given to everyone in it, so that a newcomer can be given a
   * key nobody used before without waiting for it to reach the others (see roll()).
   */
  private next: Outbound | undefined;
  private inCall = false;
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

  /** From now on we are in the call: keep a next key ready with everyone in it. */
  joinedCall(): void {
    this.inCall = true;
  }

  /**
   * One round of distribution, as Element Call's: someone left → a fresh key to those who stay,
   * used after `useKeyDelayMs`; someone joined → our key if under `rotationGraceMs` old, else a
   * key they have never seen. For that last case we keep the next key with everyone already in
   * the call: the newcomer gets it and our media switches to it at once (nobody else needs time to
   * receive it), then a new next key goes round. A fresh key is never one a leaver could hold.
   */
  private async roll(): Promise<void> {
    this.start();
    const current = this.outbound;
    if (current === undefined) return;
    const others = this.members.filter(
      (m) => !(m.userId === this.deps.own.userId && m.deviceId === this.deps.own.deviceId),
    );
    const has = (o: Outbound, m: CallMember): boolean => o.sharedWith.get(memberIdentity(m)) === m.createdTs;
    const now = this.deps.now();
    const anyLeft = [...current.sharedWith.entries()].some(
      ([id, created]) => !others.some((m) => memberIdentity(m) === id && m.createdTs === created),
    );
    const joined = others.filter((m) => !has(current, m));
    let target = current;
    let to = joined;
    let wait = true;
    if (anyLeft || (joined.length > 0 && now - current.createdAt >= this.rotationGraceMs)) {
      const next = this.next;
      this.next = undefined;
      if (!anyLeft && next !== undefined && others.every((m) => joined.includes(m) || has(next, m))) {
        target = next;
        wait = false;
      } else {
        // Past whatever index a leaver may hold as "next".
        target = this.newOutbound(((next?.index ?? current.index) + 1) % 256);
        to = others;
      }
      this.outbound = target;
    }
    if (to.length > 0 && !(await this.sendTo(to, target))) return;
    if (target !== current) {
      // Give a fresh key time to reach those already in the call before our media uses it (a
      // newcomer sees nothing of ours until it arrives anyway).
      if (wait && to.some((m) => !joined.includes(m))) await this.deps.sleep(this.useKeyDelayMs);
      if (this.stopped || this.outbound !== target) return;
      this.useOwn(target);
    }
    if (this.inCall) await this.shareNext(others);
  }

  /** The next key, to everyone in the call who does not have it yet. */
  private async shareNext(others: CallMember[]): Promise<void> {
    const current = this.outbound;
    if (current === undefined || others.length === 0 || this.stopped) return;
    const next = (this.next ??= this.newOutbound((current.index + 1) % 256));
    const missing = others.filter((m) => next.sharedWith.get(memberIdentity(m)) !== m.createdTs);
    if (missing.length > 0) await this.sendTo(missing, next);
  }

  /** Sends a key, trying again twice; false when it could not go (the call cannot be encrypted). */
  private async sendTo(to: CallMember[], o: Outbound): Promise<boolean> {
    const targets = to.map((m) => ({ userId: m.userId, deviceId: m.deviceId }));
    for (let attempt = 0; ; attempt++) {
      try {
        await this.deps.send(targets, this.content(o));
        for (const m of to) o.sharedWith.set(memberIdentity(m), m.createdTs);
        return true;
      } catch (err) {
        const pause = SEND_RETRIES_MS[attempt];
        if (pause === undefined || this.stopped) {
          if (!this.stopped) this.deps.onSendFailed(err);
          return false;
        }
        await this.deps.sleep(pause);
      }
    }
  }

  private newOutbound(index: number): Outbound {
    return { key: this.deps.random(KEY_BYTES), index, createdAt: this.deps.now(), sharedWith: new Map() };
  }

  private useOwn(o: Outbound): void {
    this.inUse = o;
    this.keyed.add(this.ownIdentity);
    this.deps.setKey(this.ownIdentity, o.index, o.key);
  }

  /**
   * Gives LiveKit our current key again (after connecting: LiveKit then re-posts every key and may
   * make another index current for us).
   */
  reassertOwn(): void {
    if (this.inUse !== undefined && !this.stopped) this.deps.setKey(this.ownIdentity, this.inUse.index, this.inUse.key);
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
    // Where the client tells us which device Olm authenticated, the key must be that device's.
    if (msg.senderDevice !== undefined && msg.senderDevice !== parsed.deviceId) return 'wrong_device';
    const p: Pending = { sender: msg.sender, ...parsed, at: this.deps.now() };
    if (this.isOutdated(p)) return 'outdated';
    if (!this.isMember(p.sender, p.deviceId)) {
      // Its membership may reach us after the key: keep it a little while (a few per sender).
      const mine = this.pending.filter((x) => x.sender === p.sender);
      const oldest = mine[0];
      if (mine.length >= MAX_PENDING_PER_SENDER && oldest !== undefined)
        this.pending.splice(this.pending.indexOf(oldest), 1);
      this.pending.push(p);
      if (this.pending.length > MAX_PENDING) this.pending.shift();
      return 'pending';
    }
    this.apply(p);
    return 'taken';
  }

  private slot(p: Pending): string {
    return `${p.sender}|${p.deviceId}|${p.index}`;
  }

  /** An older key at an index where a newer one from that device was already taken. */
  private isOutdated(p: Pending): boolean {
    return (this.latest.get(this.slot(p)) ?? -Infinity) > p.sentTs;
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
    if (this.isOutdated(p)) return;
    // Recorded only for keys taken: call members' devices, at most 256 indexes each.
    this.latest.set(this.slot(p), p.sentTs);
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
