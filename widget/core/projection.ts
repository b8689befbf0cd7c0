/**
 * What the call view shows, from plain facts about the participants: the tiles (screen shares
 * first, then people, ourselves last), the grid (a pinned tile, or else the first shared screen, in
 * the spotlight), and the participant list (raised hands first, in the order they were raised).
 * Pure: no LiveKit, no DOM. `V` is whatever the view attaches to a <video> (a LiveKit track).
 */

export interface ParticipantFacts<V> {
  identity: string;
  /** Display name from the LiveKit token, if any (the identity is shown otherwise). */
  name: string | undefined;
  /** Matrix user id (from the token's attributes), when known. */
  userId: string | undefined;
  /** Matrix device id (from the token's attributes), when known: one device is one person. */
  deviceId?: string | undefined;
  local: boolean;
  /** The camera's video, when published and not muted. */
  camera: V | undefined;
  /** The shared screen's video, while sharing. */
  screen: V | undefined;
  micOn: boolean;
  camOn: boolean;
  speaking: boolean;
  /** LiveKit's connection quality: excellent, good, poor, lost or unknown. */
  quality: string;
  /** When the hand went up, while it is up. */
  handAt: number | undefined;
  /** The last reaction sent, shown until `until`. */
  reaction: { emoji: string; until: number } | undefined;
  /** Object URL of the person's Matrix avatar, when they have one. */
  avatar: string | undefined;
  /** In an encrypted call, their media key has not arrived: their media cannot be shown yet. */
  waitingForKeys?: boolean | undefined;
  /** A moderator keeps their microphone off (their rights at the SFU leave it out). */
  micLocked?: boolean | undefined;
  /** In the call by their membership, on another SFU we cannot reach now: no media. */
  unreachable?: boolean | undefined;
  /** Host of the other deployment's token service they publish on (its operator moderates them). */
  elsewhere?: string | undefined;
}

export interface Tile<V> {
  key: string;
  identity: string;
  userId: string | undefined;
  local: boolean;
  name: string;
  video: V | undefined;
  screen: boolean;
  micMuted: boolean;
  speaking: boolean;
  quality: string;
  /** Position in the queue of raised hands (1 = first), if raised. */
  hand: number | undefined;
  /** A reaction being shown, if any. */
  reaction: string | undefined;
  /** Encrypted call, key not yet arrived: "waiting for keys" rather than a black tile. */
  waitingForKeys: boolean;
  /** Their SFU cannot be reached now: "cannot be reached" rather than a silent tile. */
  unreachable: boolean;
}

export interface Person {
  identity: string;
  userId: string | undefined;
  name: string;
  avatar: string | undefined;
  local: boolean;
  micOn: boolean;
  camOn: boolean;
  hand: number | undefined;
  /** A moderator keeps their microphone off. */
  micLocked: boolean;
  /** Their SFU cannot be reached now. */
  unreachable: boolean;
  /** Host of the other deployment they publish on: moderated there, not by us. */
  elsewhere: string | undefined;
}

export interface GridLayout<V> {
  /** The tiles in display order: the spotlight (if any) first. */
  tiles: Tile<V>[];
  spotlight: boolean;
  columns: number;
  /** People in the call (screen shares are not people). */
  people: number;
}

function displayName(p: ParticipantFacts<unknown>, youLabel: string): string {
  const name = p.name ?? p.identity;
  return p.local ? `${name} (${youLabel})` : name;
}

/** 1-based positions in the raised-hand queue, by identity (the same time, the same position). */
function handQueue(all: readonly ParticipantFacts<unknown>[]): Map<string, number> {
  const times = all.flatMap((p) => (p.handAt === undefined ? [] : [p.handAt]));
  const out = new Map<string, number>();
  for (const p of all) {
    const at = p.handAt;
    if (at !== undefined) out.set(p.identity, times.filter((t) => t < at).length + 1);
  }
  return out;
}

/** Everyone as tiles at time `now`: screen shares first, then cameras; others before ourselves. */
export function projectTiles<V>(all: readonly ParticipantFacts<V>[], youLabel: string, now: number): Tile<V>[] {
  const hands = handQueue(all);
  const people: Tile<V>[] = [];
  const screens: Tile<V>[] = [];
  for (const p of [...all.filter((x) => !x.local), ...all.filter((x) => x.local)]) {
    const base = {
      identity: p.identity,
      userId: p.userId,
      local: p.local,
      name: displayName(p, youLabel),
      micMuted: !p.micOn,
      speaking: p.speaking,
      quality: p.quality,
      hand: hands.get(p.identity),
      reaction: p.reaction !== undefined && p.reaction.until > now ? p.reaction.emoji : undefined,
      waitingForKeys: p.waitingForKeys === true,
      unreachable: p.unreachable === true,
    };
    people.push({ ...base, key: `${p.identity}:camera`, video: p.camera, screen: false });
    if (p.screen !== undefined) screens.push({ ...base, key: `${p.identity}:screen`, video: p.screen, screen: true });
  }
  return [...screens, ...people];
}

/** The participant list: ourselves first, then the others; raised hands before, in queue order. */
export function projectPeople(all: readonly ParticipantFacts<unknown>[], youLabel: string): Person[] {
  const hands = handQueue(all);
  return [...all.filter((x) => x.local), ...all.filter((x) => !x.local)]
    .map((p) => ({
      identity: p.identity,
      userId: p.userId,
      name: displayName(p, youLabel),
      avatar: p.avatar,
      local: p.local,
      micOn: p.micOn,
      camOn: p.camOn,
      hand: hands.get(p.identity),
      micLocked: p.micLocked === true,
      unreachable: p.unreachable === true,
      elsewhere: p.elsewhere,
    }))
    .sort((a, b) => (a.hand ?? Infinity) - (b.hand ?? Infinity));
}

/** The grid: the pinned tile (while it exists), or else the first screen share, takes the spotlight. */
export function gridLayout<V>(tiles: readonly Tile<V>[], pinnedKey: string | undefined): GridLayout<V> {
  const people = tiles.filter((x) => !x.screen).length;
  const spotlight = tiles.find((x) => x.key === pinnedKey) ?? tiles.find((x) => x.screen);
  if (spotlight === undefined)
    return { tiles: [...tiles], spotlight: false, columns: gridColumns(tiles.length), people };
  return {
    tiles: [spotlight, ...tiles.filter((x) => x !== spotlight)],
    spotlight: true,
    // The spotlight spans the first row; the others share the rows below, at most 4 across.
    columns: Math.max(1, Math.min(4, tiles.length - 1)),
    people,
  };
}

/** Columns of the video grid for n tiles: 1, 2, 4, 9, 16+ participants fill a screen evenly. */
export function gridColumns(n: number): number {
  if (n <= 1) return 1;
  if (n <= 4) return 2;
  if (n <= 9) return 3;
  if (n <= 16) return 4;
  return 5;
}

/**
 * One entry per Matrix device (or LiveKit identity when the device is unknown): ourselves from our
 * own connection, else the connection that publishes, else a member whose SFU cannot be reached
 * (rather than their silent subscription on ours).
 */
export function onePerDevice<V>(facts: readonly ParticipantFacts<V>[]): ParticipantFacts<V>[] {
  const rank = (f: ParticipantFacts<V>): number => {
    if (f.local) return 3;
    if (f.camera !== undefined || f.screen !== undefined || f.micOn || f.camOn) return 2;
    return f.unreachable === true ? 1 : 0;
  };
  const byDevice = new Map<string, ParticipantFacts<V>>();
  for (const f of facts) {
    const key = f.userId !== undefined && f.deviceId !== undefined ? `${f.userId}\u0000${f.deviceId}` : f.identity;
    const seen = byDevice.get(key);
    if (seen === undefined || rank(f) > rank(seen)) byDevice.set(key, f);
  }
  return [...byDevice.values()];
}
