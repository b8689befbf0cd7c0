/**
 * What the call view shows, projected from plain participant facts (no LiveKit, no DOM): tiles,
 * the grid's spotlight, and the participant list.
 */
import { describe, expect, it } from 'vitest';

import {
  gridLayout,
  projectPeople,
  projectTiles,
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

describe('the grid', () => {
  const tiles = (...facts: ParticipantFacts<string>[]): Tile<string>[] => projectTiles(facts, 'You', NOW);

  it('lays the tiles out evenly when nobody is in the spotlight', () => {
    const layout = gridLayout(tiles(me, someone('bob'), someone('carol')), undefined);
    expect(layout).toMatchObject({ spotlight: false, columns: 2, people: 3 });
    expect(keys(layout.tiles)).toEqual(['bob:camera', 'carol:camera', 'me:camera']);
  });

  it('puts a shared screen in the spotlight; it is not counted as a person', () => {
    const layout = gridLayout(tiles(me, someone('bob'), someone('carol', { screen: 'carol-screen' })), undefined);
    expect(layout).toMatchObject({ spotlight: true, columns: 3, people: 3 });
    expect(layout.tiles[0]?.key).toBe('carol:screen');
  });

  it('puts a pinned tile in the spotlight, even over a shared screen', () => {
    const all = tiles(me, someone('bob'), someone('carol', { screen: 'carol-screen' }));
    const layout = gridLayout(all, 'bob:camera');
    expect(keys(layout.tiles)).toEqual(['bob:camera', 'carol:screen', 'carol:camera', 'me:camera']);
    expect(layout.spotlight).toBe(true);
  });

  it('forgets a pin on someone who left', () => {
    expect(gridLayout(tiles(me, someone('bob')), 'carol:camera')).toMatchObject({ spotlight: false, columns: 2 });
  });

  it('keeps at most 4 tiles across under the spotlight', () => {
    const many = [me, ...['b', 'c', 'd', 'e', 'f', 'g'].map((x) => someone(x))];
    expect(gridLayout(tiles(...many), 'me:camera').columns).toBe(4);
    expect(gridLayout(tiles(me), 'me:camera').columns).toBe(1);
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
