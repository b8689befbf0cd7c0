/**
 * What the person may do as a moderator, from the room's state as the host pushed it (the service
 * decides again from its own view: this only chooses which buttons to show). Matrix's rules: the
 * `kick` level to remove someone from the call, the service's moderator level (50 by default) to
 * mute or lower a hand, and in room v12+ the creators have unlimited power.
 */

export interface ModerationRights {
  mute: boolean;
  remove: boolean;
  /** Letting people in from the waiting room (the room's invite level). */
  invite: boolean;
  /** Our power (Infinity for a v12+ creator), to offer actions only on people with less. */
  power: number;
}

export const MUTE_POWER_LEVEL = 50;

const int = (v: unknown, fallback: number): number =>
  typeof v === 'number' && Number.isInteger(v) ? v : typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : fallback;

export interface RoomFacts {
  powerLevels: Record<string, unknown> | undefined;
  create: { sender: string; content: Record<string, unknown> } | undefined;
}

/** Someone's power in the room, from its power levels and create events. */
export function powerIn(room: RoomFacts, userId: string): number {
  const v = room.create?.content['room_version'];
  const version = typeof v === 'string' ? v : '1';
  const n = Number(version);
  if ((Number.isInteger(n) && n >= 12) || version.startsWith('org.matrix.hydra')) {
    const extra = room.create?.content['additional_creators'];
    if (room.create?.sender === userId || (Array.isArray(extra) && extra.includes(userId))) return Infinity;
  }
  const pl = room.powerLevels;
  if (pl === undefined) return room.create?.sender === userId ? 100 : 0;
  const users = (typeof pl['users'] === 'object' && pl['users'] !== null ? pl['users'] : {}) as Record<string, unknown>;
  return int(users[userId], int(pl['users_default'], 0));
}

export function moderationRights(room: RoomFacts, userId: string): ModerationRights {
  const power = powerIn(room, userId);
  const kick = int(room.powerLevels?.['kick'], 50);
  const invite = int(room.powerLevels?.['invite'], 0);
  return { mute: power >= MUTE_POWER_LEVEL, remove: power >= kick, invite: power >= invite, power };
}
