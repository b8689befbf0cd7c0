/**
 * Reactions and raised hands as Element Call writes them in the room, so that its users and ours
 * see each other's: a reaction is an `io.element.call.reaction` event `{emoji, name}` referencing
 * the sender's own call membership event; a raised hand is an `m.reaction` annotating that
 * membership with the key 🖐️, lowered by redacting it. The events come from any member of the
 * room: one counts only if it points at a membership event of its own sender, and a reaction only
 * if its emoji is one of the known ones. Pure: no I/O.
 */
import { CALL_MEMBER_EVENT } from './membership.ts';
import { REACTIONS } from './signals.ts';

export const CALL_REACTION_EVENT = 'io.element.call.reaction';
/** Media keys of encrypted calls, as Olm-encrypted to-device messages (core/media-keys.ts). */
export const ENCRYPTION_KEYS_EVENT = 'io.element.call.encryption_keys';
/** Ringing (MSC4075) as Element Call sends it when it starts a call, its legacy form, and a decline (MSC4310). */
export const NOTIFICATION_EVENT = 'org.matrix.msc4075.rtc.notification';
export const LEGACY_NOTIFY_EVENT = 'org.matrix.msc4075.call.notify';
export const DECLINE_EVENT = 'org.matrix.msc4310.rtc.decline';
/** The ringing events a widget sends and reads. */
export const RINGING_EVENTS = [NOTIFICATION_EVENT, LEGACY_NOTIFY_EVENT, DECLINE_EVENT];
/** How long a ring lasts (Element Call's default). */
export const NOTIFICATION_LIFETIME_MS = 90_000;
export const HAND_KEY = '🖐️';

/** Element Call's reactions (emoji, name); a name tells Element Call which sound to play. */
export const ELEMENT_CALL_REACTIONS: readonly { emoji: string; name: string }[] = [
  { emoji: '👍', name: 'thumbsup' },
  { emoji: '🎉', name: 'party' },
  { emoji: '👏', name: 'clapping' },
  { emoji: '🐶', name: 'dog' },
  { emoji: '🐱', name: 'cat' },
  { emoji: '💡', name: 'lightbulb' },
  { emoji: '🦗', name: 'crickets' },
  { emoji: '👎', name: 'thumbsdown' },
  { emoji: '😵‍💫', name: 'dizzy' },
  { emoji: '👌', name: 'ok' },
  { emoji: '🥰', name: 'heart' },
  { emoji: '😄', name: 'laugh' },
  { emoji: '🦌', name: 'deer' },
  { emoji: '🤘', name: 'rock' },
  { emoji: '👋', name: 'wave' },
  { emoji: '🥁', name: 'drum' },
];

const KNOWN_EMOJI = new Set<string>([...REACTIONS, ...ELEMENT_CALL_REACTIONS.map((r) => r.emoji)]);
const MAX_ID = 255;

export type CallEvent =
  /** A device's call membership: its event id is what reactions and hands point at. */
  | { kind: 'membership'; eventId: string; identity: string; stateKey: string }
  /** The device left (empty content at its state key). */
  | { kind: 'left'; stateKey: string }
  /** Someone declining a call notification (`target`: the notification's event id). */
  | { kind: 'decline'; sender: string; target: string }
  | { kind: 'reaction'; sender: string; target: string; emoji: string }
  | { kind: 'hand'; sender: string; target: string; eventId: string; at: number }
  | { kind: 'redaction'; redacts: string };

const str = (v: unknown): string | undefined =>
  typeof v === 'string' && v.length > 0 && v.length <= MAX_ID ? v : undefined;
const obj = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/** Reads a room event the host fed us; undefined for anything else or anything malformed. */
export function parseCallEvent(raw: unknown): CallEvent | undefined {
  const ev = obj(raw);
  if (ev === undefined) return undefined;
  const type = ev['type'];
  const sender = str(ev['sender']);
  const eventId = str(ev['event_id']);
  const content = obj(ev['content']) ?? {};
  if (sender === undefined || eventId === undefined) return undefined;
  if (type === CALL_MEMBER_EVENT) {
    const stateKey = str(ev['state_key']);
    if (stateKey === undefined) return undefined;
    const deviceId = str(content['device_id']);
    if (deviceId === undefined) return Object.keys(content).length === 0 ? { kind: 'left', stateKey } : undefined;
    // Only the sender's own membership (the key names the sender and the device).
    const owned = [`_${sender}_${deviceId}_m.call`, `${sender}_${deviceId}_m.call`];
    if (!owned.includes(stateKey)) return undefined;
    return { kind: 'membership', eventId, identity: `${sender}:${deviceId}`, stateKey };
  }
  const rel = obj(content['m.relates_to']);
  const target = str(rel?.['event_id']);
  if (type === CALL_REACTION_EVENT) {
    const emoji = content['emoji'];
    if (rel?.['rel_type'] !== 'm.reference' || target === undefined) return undefined;
    if (typeof emoji !== 'string' || !KNOWN_EMOJI.has(emoji)) return undefined;
    return { kind: 'reaction', sender, target, emoji };
  }
  if (type === 'm.reaction') {
    if (rel?.['rel_type'] !== 'm.annotation' || rel['key'] !== HAND_KEY || target === undefined) return undefined;
    const ts = ev['origin_server_ts'];
    return { kind: 'hand', sender, target, eventId, at: typeof ts === 'number' && Number.isFinite(ts) ? ts : 0 };
  }
  if (type === DECLINE_EVENT) {
    if (rel?.['rel_type'] !== 'm.reference' || target === undefined) return undefined;
    return { kind: 'decline', sender, target };
  }
  if (type === 'm.room.redaction') {
    const redacts = str(content['redacts']) ?? str(ev['redacts']);
    return redacts === undefined ? undefined : { kind: 'redaction', redacts };
  }
  return undefined;
}

/** Our reaction as Element Call reads it: a name it knows when it has one for this emoji. */
export function reactionContent(emoji: string, membershipEventId: string): Record<string, unknown> {
  return {
    emoji,
    name: ELEMENT_CALL_REACTIONS.find((r) => r.emoji === emoji)?.name ?? 'generic',
    'm.relates_to': { rel_type: 'm.reference', event_id: membershipEventId },
  };
}

/** Our raised hand as Element Call reads it. */
export function handContent(membershipEventId: string): Record<string, unknown> {
  return { 'm.relates_to': { rel_type: 'm.annotation', event_id: membershipEventId, key: HAND_KEY } };
}

/** The ring or notification that a call started, as Element Call sends it (on our membership). */
export function notificationContent(
  type: 'ring' | 'notification',
  membershipEventId: string,
  now: number,
  audioOnly: boolean,
): Record<string, unknown> {
  return {
    'm.mentions': { user_ids: [], room: true },
    notification_type: type,
    'm.relates_to': { event_id: membershipEventId, rel_type: 'm.reference' },
    sender_ts: now,
    lifetime: NOTIFICATION_LIFETIME_MS,
    'm.call.intent': audioOnly ? 'audio' : 'video',
  };
}

/** The same in the legacy form older clients ring on. */
export function legacyNotifyContent(type: 'ring' | 'notification'): Record<string, unknown> {
  return {
    application: 'm.call',
    call_id: '',
    'm.mentions': { user_ids: [], room: true },
    notify_type: type === 'ring' ? 'ring' : 'notify',
  };
}
