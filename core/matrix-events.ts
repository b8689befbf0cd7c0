/**
 * Room events as they reach us in appservice transactions, decoded at the edge. Any member of any
 * room the bot is in chooses an event's content, and a homeserver forwards nearly anything: wrong
 * types, huge strings, deep nesting, U+0000. Here every event is either decoded into the typed
 * shape the rest of the appservice trusts, or refused with a reason (logged and counted by the
 * caller, never retried). Fields of the wrong type are read as absent, as Matrix clients read them.
 * Pure: no I/O.
 */
import { z } from 'zod';

import { serverOfUserId } from './matrix-ids.ts';

/** A room event as the rest of the appservice sees it. */
export interface MatrixEvent {
  type: string;
  state_key?: string;
  sender: string;
  content: Record<string, unknown>;
  event_id?: string;
  room_id?: string;
  origin_server_ts?: number;
}

/** Longest identifier we accept (user ids, room ids, event ids, types: the spec says 255 bytes). */
export const MAX_ID = 255;
/** State keys longer than this name nothing we keep (they would not fit an index either). */
export const MAX_STATE_KEY = 1024;
/** Display names are cut here: they are shown in notices and kept per member. */
export const MAX_DISPLAY_NAME = 256;

const envelope = z.looseObject({
  type: z.string().min(1).max(MAX_ID),
  sender: z.string().min(1).max(MAX_ID),
  room_id: z.string().min(1).max(MAX_ID).optional(),
  event_id: z.string().min(1).max(MAX_ID).optional(),
  state_key: z.string().max(MAX_STATE_KEY).optional(),
  origin_server_ts: z.number().optional().catch(undefined),
  content: z.looseObject({}).refine((c) => !Array.isArray(c)),
});

export type Decoded = { ok: true; event: MatrixEvent } | { ok: false; reason: string };

/** Decodes one event of a transaction; a refusal says why (for the log and the metric). */
export function decodeEvent(raw: unknown): Decoded {
  const r = envelope.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue?.path.map(String).join('_') ?? '';
    return { ok: false, reason: `bad_${where === '' ? 'event' : where}` };
  }
  const d = r.data;
  if (serverOfUserId(d.sender) === undefined) return { ok: false, reason: 'bad_sender' };
  const event: MatrixEvent = { type: d.type, sender: d.sender, content: d.content };
  if (d.room_id !== undefined) event.room_id = d.room_id;
  if (d.event_id !== undefined) event.event_id = d.event_id;
  if (d.state_key !== undefined) event.state_key = d.state_key;
  if (d.origin_server_ts !== undefined) event.origin_server_ts = d.origin_server_ts;
  if (event.type === 'm.room.member') {
    if (event.state_key === undefined || serverOfUserId(event.state_key) === undefined)
      return { ok: false, reason: 'bad_member_state_key' };
    if (memberContent(event.content) === undefined) return { ok: false, reason: 'bad_membership' };
  }
  return { ok: true, event };
}

const MEMBERSHIPS = ['join', 'leave', 'ban', 'invite', 'knock'] as const;
export type Membership = (typeof MEMBERSHIPS)[number];

const memberSchema = z.looseObject({
  membership: z.enum(MEMBERSHIPS),
  displayname: z.string().optional().catch(undefined),
});

/** `m.room.member` content: the membership (undefined if not a known one) and the display name. */
export function memberContent(
  content: Record<string, unknown>,
): { membership: Membership; displayname: string | undefined } | undefined {
  const r = memberSchema.safeParse(content);
  if (!r.success) return undefined;
  const name = r.data.displayname;
  return {
    membership: r.data.membership,
    displayname: name === undefined || name === '' ? undefined : name.slice(0, MAX_DISPLAY_NAME),
  };
}

/**
 * A power level as rooms hold it: an integer, or (rooms before v10) a string of one. Anything else
 * is absent. Bounded to the spec's canonical JSON integer range.
 */
export function powerLevel(v: unknown): number | undefined {
  let n: number | undefined;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && /^\s*[+-]?\d{1,16}\s*$/.test(v)) n = Number(v.trim());
  if (n === undefined || !Number.isSafeInteger(n)) return undefined;
  return n;
}

function levelMap(v: unknown, keyOk: (k: string) => boolean): Record<string, number> {
  const out: Record<string, number> = {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return out;
  for (const [k, x] of Object.entries(v)) {
    const n = powerLevel(x);
    if (n !== undefined && keyOk(k)) out[k] = n;
  }
  return out;
}

// A type, not an interface: it is stored as a plain JSON record.
// eslint-disable-next-line @typescript-eslint/consistent-type-definitions
export type PowerLevels = {
  users: Record<string, number>;
  users_default: number;
  events: Record<string, number>;
  state_default: number;
  events_default: number;
  kick: number;
  ban: number;
  invite: number;
  redact: number;
};

/**
 * `m.room.power_levels` content as the spec defines its defaults (with no event at all, the
 * creator has 100 and state needs 0). The result holds only these keys, so it is what we store:
 * never the raw content a member chose.
 */
export function parsePowerLevels(content: Record<string, unknown> | undefined, creator?: string): PowerLevels {
  if (content === undefined) {
    return {
      users: creator === undefined ? {} : { [creator]: 100 },
      users_default: 0,
      events: {},
      state_default: 0,
      events_default: 0,
      kick: 50,
      ban: 50,
      invite: 0,
      redact: 50,
    };
  }
  const level = (key: string, fallback: number): number => powerLevel(content[key]) ?? fallback;
  return {
    users: levelMap(content['users'], (k) => k.length <= MAX_ID),
    users_default: level('users_default', 0),
    events: levelMap(content['events'], (k) => k.length <= MAX_ID),
    state_default: level('state_default', 50),
    events_default: level('events_default', 0),
    kick: level('kick', 50),
    ban: level('ban', 50),
    invite: level('invite', 0),
    redact: level('redact', 50),
  };
}

const createSchema = z.looseObject({
  room_version: z.string().min(1).max(64).optional().catch(undefined),
  additional_creators: z.array(z.unknown()).max(1000).optional().catch(undefined),
});

/** `m.room.create` content: the room version ("1" when absent) and additional creators. */
export function createContent(content: Record<string, unknown>): {
  roomVersion: string;
  additionalCreators: string[];
} {
  const r = createSchema.safeParse(content);
  const data = r.success ? r.data : {};
  return {
    roomVersion: data.room_version ?? '1',
    additionalCreators: (data.additional_creators ?? []).filter(
      (u): u is string => typeof u === 'string' && serverOfUserId(u) !== undefined,
    ),
  };
}

/** The text of an `m.room.message`, if it has one (commands are read from it). */
export function messageBody(content: Record<string, unknown>): string | undefined {
  const body = content['body'];
  // A command is short: a longer body is a message, not a command, and is not read further.
  return typeof body === 'string' && body.length <= 1024 ? body : undefined;
}
