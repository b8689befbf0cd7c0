/**
 * Raised hands and reactions as participants send them to each other (reliable LiveKit data
 * messages). Any participant can send anything on these topics: a message is read only if it is a
 * small JSON object of the expected shape, an emoji only from our list, and a hand's time is kept
 * within the last hour and never in the future (nobody jumps the queue by claiming to have raised
 * their hand first). Ours are written by encodeSignal. Pure: no I/O.
 */
import type { CallEndedWire, ModerationWire } from '../../core/token-wire.ts';

/** Reactions anyone can send; shown a few seconds on the sender's tile. */
export const REACTIONS = ['👍', '👏', '❤️', '😂', '🎉'] as const;
export type Reaction = (typeof REACTIONS)[number];
export const REACTION_TOPIC = 'io.causerie.reaction';
export const HAND_TOPIC = 'io.causerie.hand';

/** Bigger messages are not ours (ours are a few dozen bytes). */
const MAX_SIGNAL_BYTES = 1024;
const HAND_WINDOW_MS = 60 * 60_000;

export type Signal =
  { kind: 'reaction'; emoji: Reaction } | { kind: 'hand'; raised: true; at: number } | { kind: 'hand'; raised: false };

export function parseSignal(topic: string | undefined, payload: Uint8Array, now: number): Signal | undefined {
  if (payload.length > MAX_SIGNAL_BYTES) return undefined;
  let msg: unknown;
  try {
    msg = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    return undefined;
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return undefined;
  const m = msg as Record<string, unknown>;
  if (topic === REACTION_TOPIC) {
    const emoji = REACTIONS.find((r) => r === m['emoji']);
    return emoji === undefined ? undefined : { kind: 'reaction', emoji };
  }
  if (topic === HAND_TOPIC) {
    if (m['raised'] !== true) return { kind: 'hand', raised: false };
    const at = typeof m['at'] === 'number' && Number.isFinite(m['at']) ? m['at'] : now;
    return { kind: 'hand', raised: true, at: Math.min(now, Math.max(now - HAND_WINDOW_MS, at)) };
  }
  return undefined;
}

/** A signal as we send it: the topic and the JSON payload parseSignal reads. */
export function encodeSignal(signal: Signal): { topic: string; payload: Uint8Array<ArrayBuffer> } {
  // A lowered hand needs no time: readers take anything but `raised: true` as lowered.
  const msg =
    signal.kind === 'reaction'
      ? { emoji: signal.emoji }
      : signal.raised
        ? { raised: true, at: signal.at }
        : { raised: false };
  return {
    topic: signal.kind === 'reaction' ? REACTION_TOPIC : HAND_TOPIC,
    payload: new TextEncoder().encode(JSON.stringify(msg)),
  };
}

/** The service's message into a call (server data, topic CALL_CONTROL_TOPIC): the call is ending. */
export const CALL_CONTROL_TOPIC = 'io.causerie.call';
const MAX_USER_ID = 255;

/**
 * Reads the service's "call ended" message. Only server data (no sending participant) is passed
 * here: a participant cannot end the call for others by saying so.
 */
export function parseCallEnded(topic: string | undefined, payload: Uint8Array): { by: string | undefined } | undefined {
  if (topic !== CALL_CONTROL_TOPIC || payload.length > MAX_SIGNAL_BYTES) return undefined;
  let msg: Partial<CallEndedWire> | null;
  try {
    msg = JSON.parse(new TextDecoder().decode(payload)) as Partial<CallEndedWire> | null;
  } catch {
    return undefined;
  }
  if (typeof msg !== 'object' || msg?.ended !== true) return undefined;
  const by = msg.by;
  return { by: typeof by === 'string' && by.startsWith('@') && by.length <= MAX_USER_ID ? by : undefined };
}

/** The service's moderation notices (server data; core/token-wire.ts MODERATION_TOPIC on the server side). */
export const MODERATION_TOPIC = 'io.causerie.moderation';

/**
 * Reads a moderation notice from the service (server data only, as for the call's end): who muted
 * or removed us, or whose hand a moderator lowered. Anything else is ignored.
 */
export function parseModeration(topic: string | undefined, payload: Uint8Array): ModerationWire | undefined {
  if (topic !== MODERATION_TOPIC || payload.length > MAX_SIGNAL_BYTES) return undefined;
  let msg: Record<string, unknown> | null;
  try {
    msg = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown> | null;
  } catch {
    return undefined;
  }
  if (typeof msg !== 'object' || msg === null) return undefined;
  const by = msg['by'];
  if (typeof by !== 'string' || !by.startsWith('@') || by.length > MAX_USER_ID) return undefined;
  const source = msg['source'];
  const target = msg['target'];
  switch (msg['action']) {
    case 'muted':
      if (source !== 'microphone' && source !== 'camera') return undefined;
      return msg['locked'] === true ? { action: 'muted', source, by, locked: true } : { action: 'muted', source, by };
    case 'allowed':
      return { action: 'allowed', by };
    case 'removed':
      return { action: 'removed', by };
    case 'lower_hand':
      return typeof target === 'string' && target.length <= 512 ? { action: 'lower_hand', target, by } : undefined;
    default:
      return undefined;
  }
}
