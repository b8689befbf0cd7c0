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

/** How the call is shown: every tile in a grid (by pages), or one in the spotlight and a filmstrip. */
export interface CallLayout<V> {
  /** The tile in the spotlight, if any (a pin, else a shared screen, else in speaker view the speaker). */
  spotlight: Tile<V> | undefined;
  /** Grid: this page's tiles. Spotlight: the filmstrip (everyone else, scrolled, never paged). */
  tiles: Tile<V>[];
  /** Columns of this page's grid (fitted to the area). */
  columns: number;
  /** 0-based page shown (grid), and how many there are. */
  page: number;
  pages: number;
  /** People in the call (screen shares are not people). */
  people: number;
}

export interface LayoutChoice {
  layout: 'grid' | 'speaker';
  pinned: string | undefined;
  /** The last remote person heard (their tile key), kept until someone else speaks. */
  speaker: string | undefined;
  page: number;
  /** The grid's area in CSS pixels (0 before it is measured). */
  width: number;
  height: number;
}

/** Smallest tile worth a page of its own: below it, a new page (smaller on a phone's screen). */
const minTileWidth = (width: number): number => (width < 640 ? 150 : 240);
const GAP = 8;
const MAX_PER_PAGE = 16;

/** How many tiles one page of the grid holds in a width × height area (16:9 tiles, at most 16). */
export function pageSize(width: number, height: number): number {
  if (width <= 0 || height <= 0) return MAX_PER_PAGE;
  const minW = minTileWidth(width);
  const cols = Math.max(1, Math.floor((width + GAP) / (minW + GAP)));
  const rows = Math.max(1, Math.floor((height + GAP) / ((minW * 9) / 16 + GAP)));
  return Math.min(MAX_PER_PAGE, cols * rows);
}

/** The columns that give n 16:9 tiles the most room in a width × height area. */
export function bestColumns(n: number, width: number, height: number): number {
  if (n <= 1) return 1;
  if (width <= 0 || height <= 0) return Math.ceil(Math.sqrt(n));
  let best = 1;
  let bestWidth = 0;
  for (let cols = 1; cols <= n; cols++) {
    const rows = Math.ceil(n / cols);
    const w = Math.min((width - GAP * (cols - 1)) / cols, (((height - GAP * (rows - 1)) / rows) * 16) / 9);
    if (w > bestWidth + 0.5) {
      best = cols;
      bestWidth = w;
    }
  }
  return best;
}

/**
 * The remote person now speaking (their camera tile), else the one heard last while still in the
 * call: the speaker view does not jump back and forth in every silence.
 */
export function currentSpeaker<V>(tiles: readonly Tile<V>[], last: string | undefined): string | undefined {
  const cameras = tiles.filter((x) => !x.screen && !x.local);
  return cameras.find((x) => x.speaking)?.key ?? cameras.find((x) => x.key === last)?.key;
}

/**
 * The call laid out: a pinned tile (while it exists), else the first shared screen, else in speaker
 * view the current speaker (else the first other person) takes the spotlight, with everyone else in
 * the filmstrip; otherwise the grid, by pages that fit the area (the page is kept in range).
 */
export function callLayout<V>(tiles: readonly Tile<V>[], choice: LayoutChoice): CallLayout<V> {
  const people = tiles.filter((x) => !x.screen).length;
  const find = (key: string | undefined): Tile<V> | undefined =>
    key === undefined ? undefined : tiles.find((x) => x.key === key);
  const spotlight =
    find(choice.pinned) ??
    tiles.find((x) => x.screen) ??
    (choice.layout === 'speaker' && tiles.length > 1
      ? (find(choice.speaker) ?? tiles.find((x) => !x.local && !x.screen))
      : undefined);
  if (spotlight !== undefined) {
    return { spotlight, tiles: tiles.filter((x) => x !== spotlight), columns: 1, page: 0, pages: 1, people };
  }
  const size = pageSize(choice.width, choice.height);
  const pages = Math.max(1, Math.ceil(tiles.length / size));
  const page = Math.min(Math.max(0, choice.page), pages - 1);
  const shown = tiles.slice(page * size, (page + 1) * size);
  return {
    spotlight: undefined,
    tiles: shown,
    columns: bestColumns(shown.length, choice.width, choice.height),
    page,
    pages,
    people,
  };
}

/** Frames a second asked of a thumbnail: the middle temporal layer of a 20–30 fps camera (half its rate). */
export const THUMBNAIL_FPS = 10;
/**
 * Asked for every frame: above any camera's rate (the SFU then forwards every temporal layer; asking
 * nothing would leave an earlier, lower ask in force).
 */
export const ALL_FRAMES = 60;
/** Up to this many tiles on screen, every video comes whole. */
const FEW_TILES = 4;

/**
 * The frame rate to ask the SFU for each remote camera shown (by tile key): a
 * thumbnail — a tile in a grid of more than four, or in the filmstrip — gets THUMBNAIL_FPS unless
 * its person is speaking; the spotlight, a shared screen and a small call get every frame. The SFU
 * then forwards fewer temporal layers: fewer frames to receive and decode for pictures that small.
 */
export function frameRates<V>(layout: CallLayout<V>): Map<string, number> {
  const shown = layout.tiles.length + (layout.spotlight === undefined ? 0 : 1);
  const out = new Map<string, number>();
  const remoteCamera = (t: Tile<V>): boolean => !t.local && !t.screen && t.video !== undefined;
  if (layout.spotlight !== undefined && remoteCamera(layout.spotlight)) out.set(layout.spotlight.key, ALL_FRAMES);
  for (const t of layout.tiles) {
    if (!remoteCamera(t)) continue;
    out.set(t.key, shown <= FEW_TILES || t.speaking ? ALL_FRAMES : THUMBNAIL_FPS);
  }
  return out;
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
