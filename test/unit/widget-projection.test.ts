/**
 * What the call view shows, projected from plain participant facts (no LiveKit, no DOM): tiles,
 * the grid's spotlight, and the participant list.
 */
import { describe, expect, it } from 'vitest';

import {
  bestColumns,
  callLayout,
  currentSpeaker,
  frameRates,
  pageSize,
  THUMBNAIL_FPS,
  ALL_FRAMES,
  projectPeople,
  projectTiles,
  type LayoutChoice,
  type ParticipantFacts,
  type Tile,
} from '../../widget/core/projection.ts';

const NOW = 1_800_000_000_000;

/** A participant with camera and microphone on, not speaking, hand down. */
function someone(identity: string, facts: Partial<ParticipantFacts<string>> = {}): ParticipantFacts<string> {
  return {
    identity,
    name: identity.charAt(0).toUpperCase() + identity.slice(1),
    userId: `@${identity}:a.example`,
    local: false,
    camera: `${identity}-camera`,
    screen: undefined,
    micOn: true,
    camOn: true,
    speaking: false,
    quality: 'good',
    handAt: undefined,
    reaction: undefined,
    avatar: undefined,
    ...facts,
  };
}

const me = someone('me', { local: true, name: 'Alice' });
const keys = (tiles: readonly Tile<string>[]): string[] => tiles.map((t) => t.key);

describe('tiles of the call', () => {
  it('shows the others first and ourselves last, marked as us', () => {
    const tiles = projectTiles([me, someone('bob'), someone('carol')], 'You', NOW);
    expect(keys(tiles)).toEqual(['bob:camera', 'carol:camera', 'me:camera']);
    expect(tiles.map((t) => t.name)).toEqual(['Bob', 'Carol', 'Alice (You)']);
    expect(tiles[2]?.local).toBe(true);
  });

  it('names a participant without a display name by their identity', () => {
    expect(projectTiles([someone('bob', { name: undefined })], 'You', NOW)[0]?.name).toBe('bob');
  });

  it('highlights the active speaker only', () => {
    const tiles = projectTiles([me, someone('bob', { speaking: true })], 'You', NOW);
    expect(tiles.map((t) => [t.key, t.speaking])).toEqual([
      ['bob:camera', true],
      ['me:camera', false],
    ]);
  });

  it('shows no video for a camera that is off, and a muted microphone as muted', () => {
    const [bob] = projectTiles([someone('bob', { camera: undefined, camOn: false, micOn: false })], 'You', NOW);
    expect(bob).toMatchObject({ video: undefined, micMuted: true, userId: '@bob:a.example', quality: 'good' });
  });

  it('numbers raised hands in the order they went up', () => {
    const tiles = projectTiles(
      [me, someone('bob', { handAt: NOW - 1_000 }), someone('carol', { handAt: NOW - 9_000 }), someone('dave')],
      'You',
      NOW,
    );
    expect(tiles.map((t) => [t.identity, t.hand])).toEqual([
      ['bob', 2],
      ['carol', 1],
      ['dave', undefined],
      ['me', undefined],
    ]);
  });

  it('shows a reaction until its time is up', () => {
    const bob = someone('bob', { reaction: { emoji: '🎉', until: NOW + 4_000 } });
    expect(projectTiles([bob], 'You', NOW)[0]?.reaction).toBe('🎉');
    expect(projectTiles([bob], 'You', NOW + 4_000)[0]?.reaction).toBeUndefined();
  });

  it('gives a shared screen its own tile, ahead of the cameras, with the sharer’s hand and name', () => {
    const tiles = projectTiles([me, someone('bob', { screen: 'bob-screen', handAt: NOW })], 'You', NOW);
    expect(keys(tiles)).toEqual(['bob:screen', 'bob:camera', 'me:camera']);
    expect(tiles[0]).toMatchObject({ screen: true, video: 'bob-screen', name: 'Bob', hand: 1 });
  });
});

describe('the layout', () => {
  const tiles = (...facts: ParticipantFacts<string>[]): Tile<string>[] => projectTiles(facts, 'You', NOW);
  /** A 1280×600 area in grid view, nothing pinned, nobody heard yet. */
  const choice = (c: Partial<LayoutChoice> = {}): LayoutChoice => ({
    layout: 'grid',
    pinned: undefined,
    speaker: undefined,
    page: 0,
    width: 1280,
    height: 600,
    ...c,
  });

  it('lays the tiles out in a grid when nobody is in the spotlight, columns fitted to the area', () => {
    const layout = callLayout(tiles(me, someone('bob'), someone('carol')), choice());
    expect(layout).toMatchObject({ spotlight: undefined, columns: 2, people: 3, page: 0, pages: 1 });
    expect(keys(layout.tiles)).toEqual(['bob:camera', 'carol:camera', 'me:camera']);
    // The same three on a phone held upright: one above the other.
    expect(callLayout(tiles(me, someone('bob'), someone('carol')), choice({ width: 360, height: 600 })).columns).toBe(
      1,
    );
  });

  it('puts a shared screen in the spotlight with everyone in the filmstrip; it is not counted as a person', () => {
    const layout = callLayout(tiles(me, someone('bob'), someone('carol', { screen: 'carol-screen' })), choice());
    expect(layout.spotlight?.key).toBe('carol:screen');
    expect(keys(layout.tiles)).toEqual(['bob:camera', 'carol:camera', 'me:camera']);
    expect(layout.people).toBe(3);
  });

  it('puts a pinned tile in the spotlight, even over a shared screen', () => {
    const all = tiles(me, someone('bob'), someone('carol', { screen: 'carol-screen' }));
    const layout = callLayout(all, choice({ pinned: 'bob:camera' }));
    expect(layout.spotlight?.key).toBe('bob:camera');
    expect(keys(layout.tiles)).toEqual(['carol:screen', 'carol:camera', 'me:camera']);
  });

  it('forgets a pin on someone who left', () => {
    expect(callLayout(tiles(me, someone('bob')), choice({ pinned: 'carol:camera' })).spotlight).toBeUndefined();
  });

  it('in speaker view, spotlights who speaks, else who spoke last, else the first other person; alone, just us', () => {
    const quiet = tiles(me, someone('bob'), someone('carol'));
    expect(callLayout(quiet, choice({ layout: 'speaker' })).spotlight?.key).toBe('bob:camera');
    const speaking = tiles(me, someone('bob'), someone('carol', { speaking: true }));
    const heard = currentSpeaker(speaking, undefined);
    expect(heard).toBe('carol:camera');
    // Carol stops: she stays in the spotlight until someone else speaks.
    expect(currentSpeaker(quiet, heard)).toBe('carol:camera');
    expect(callLayout(quiet, choice({ layout: 'speaker', speaker: 'carol:camera' })).spotlight?.key).toBe(
      'carol:camera',
    );
    // We never take the spotlight for speaking; alone, the grid shows us.
    expect(
      currentSpeaker(tiles(someone('me', { local: true, speaking: true }), someone('bob')), undefined),
    ).toBeUndefined();
    expect(callLayout(tiles(me), choice({ layout: 'speaker' })).spotlight).toBeUndefined();
  });

  it('pages the grid when more tiles than fit: each page holds what the area takes, the page kept in range', () => {
    const many = [me, ...Array.from({ length: 20 }, (_, i) => someone(`p${String(i).padStart(2, '0')}`))];
    const size = pageSize(1280, 600);
    expect(size).toBe(16);
    const first = callLayout(tiles(...many), choice());
    expect(first).toMatchObject({ page: 0, pages: 2 });
    expect(first.tiles).toHaveLength(16);
    const second = callLayout(tiles(...many), choice({ page: 1 }));
    expect(second.tiles).toHaveLength(5);
    // A smaller window: smaller pages.
    expect(callLayout(tiles(...many), choice({ width: 800, height: 450 })).pages).toBe(3);
    expect(keys(second.tiles).at(-1)).toBe('me:camera');
    // Someone left, page 3 asked: the last page there is.
    expect(callLayout(tiles(...many), choice({ page: 5 })).page).toBe(1);
    // A phone takes fewer per page, never more than 16 on a large screen.
    expect(pageSize(375, 500)).toBeLessThan(size);
    expect(pageSize(3840, 2000)).toBe(16);
  });

  it('asks thumbnails for fewer frames; the spotlight, a speaker, a screen and a small call get every frame', () => {
    const four = tiles(me, someone('bob'), someone('carol'), someone('dan'));
    expect([...frameRates(callLayout(four, choice()))]).toEqual([
      ['bob:camera', ALL_FRAMES],
      ['carol:camera', ALL_FRAMES],
      ['dan:camera', ALL_FRAMES],
    ]);
    const six = tiles(
      me,
      someone('bob', { speaking: true }),
      someone('carol'),
      someone('dan'),
      someone('eve', { camera: undefined }),
      someone('fay', { screen: 'fay-screen' }),
    );
    // Fay's screen in the spotlight; everyone else in the filmstrip: thumbnails but Bob, who speaks.
    const rates = frameRates(callLayout(six, choice()));
    expect(rates.get('fay:screen')).toBeUndefined();
    expect(rates.get('bob:camera')).toBe(ALL_FRAMES);
    expect(rates.get('carol:camera')).toBe(THUMBNAIL_FPS);
    expect(rates.get('fay:camera')).toBe(THUMBNAIL_FPS);
    // No camera, or ourselves: nothing to ask.
    expect(rates.has('eve:camera')).toBe(false);
    expect(rates.has('me:camera')).toBe(false);
    // Carol pinned: her picture is large, every frame.
    expect(frameRates(callLayout(six, choice({ pinned: 'carol:camera' }))).get('carol:camera')).toBe(ALL_FRAMES);
  });

  it('fits the columns that make the tiles largest', () => {
    expect(bestColumns(1, 1280, 600)).toBe(1);
    expect(bestColumns(2, 1280, 600)).toBe(2);
    expect(bestColumns(4, 1280, 600)).toBe(2);
    expect(bestColumns(9, 1280, 600)).toBe(3);
    expect(bestColumns(2, 375, 600)).toBe(1);
  });
});

describe('the participant list', () => {
  it('lists ourselves first, with microphone and camera state, avatar, and a microphone kept off', () => {
    const people = projectPeople(
      [someone('bob', { micOn: false, camOn: true, avatar: 'blob:bob', micLocked: true }), me],
      'You',
    );
    expect(people).toEqual([
      {
        identity: 'me',
        userId: '@me:a.example',
        name: 'Alice (You)',
        avatar: undefined,
        local: true,
        micOn: true,
        camOn: true,
        hand: undefined,
        micLocked: false,
        unreachable: false,
        elsewhere: undefined,
      },
      {
        identity: 'bob',
        userId: '@bob:a.example',
        name: 'Bob',
        avatar: 'blob:bob',
        local: false,
        micOn: false,
        camOn: true,
        hand: undefined,
        micLocked: true,
        unreachable: false,
        elsewhere: undefined,
      },
    ]);
  });

  it('puts raised hands first, in the order they went up', () => {
    const people = projectPeople(
      [me, someone('bob'), someone('carol', { handAt: NOW }), someone('dave', { handAt: NOW - 60_000 })],
      'You',
    );
    expect(people.map((p) => [p.identity, p.hand])).toEqual([
      ['dave', 1],
      ['carol', 2],
      ['me', undefined],
      ['bob', undefined],
    ]);
  });
});
