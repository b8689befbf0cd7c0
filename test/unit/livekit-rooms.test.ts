import { describe, expect, it, vi } from 'vitest';

import { LivekitRooms } from '../../livekit/rooms.ts';

function fakeRoomService(existing: Set<string>) {
  return {
    createRoom: vi.fn((opts: { name?: string }) => {
      existing.add(opts.name ?? '');
      return Promise.resolve({ name: opts.name });
    }),
    listRooms: vi.fn((names?: string[]) =>
      Promise.resolve([...existing].filter((n) => names?.includes(n)).map((name) => ({ name }))),
    ),
  };
}

describe('LiveKit rooms', () => {
  it('a full-access join creates the room with the call timeouts; a partner join only looks it up', async () => {
    const existing = new Set<string>();
    const api = fakeRoomService(existing);
    const rooms = new LivekitRooms(api as never);
    expect(await rooms.ensure('other', false)).toBe('missing');
    expect(await rooms.ensure('r1', true)).toBe('created');
    expect(api.createRoom).toHaveBeenCalledWith({ name: 'r1', emptyTimeout: 300, departureTimeout: 20 });
    expect(await new LivekitRooms(api as never).ensure('r1', false)).toBe('exists');
  });

  it('a burst of joins costs one API call, and a recently seen room answers at once while re-checked', async () => {
    let now = 0;
    const existing = new Set(['r']);
    const api = fakeRoomService(existing);
    const rooms = new LivekitRooms(api as never, { now: () => now });
    await Promise.all([rooms.ensure('r', false), rooms.ensure('r', false), rooms.ensure('r', false)]);
    expect(api.listRooms).toHaveBeenCalledTimes(1);
    const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
    now = 10_000; // stale: answered from memory, re-checked behind
    expect(await rooms.ensure('r', false)).toBe('exists');
    await settle();
    expect(api.listRooms).toHaveBeenCalledTimes(2);
    existing.delete('r');
    now = 20_000;
    expect(await rooms.ensure('r', false)).toBe('exists'); // the background check learns it is gone
    await settle();
    expect(await rooms.ensure('r', false)).toBe('missing');
  });

  it('a finished room is forgotten at once', async () => {
    const existing = new Set(['r']);
    const rooms = new LivekitRooms(fakeRoomService(existing) as never);
    await rooms.ensure('r', false);
    existing.delete('r');
    rooms.forget('r');
    expect(await rooms.ensure('r', false)).toBe('missing');
  });
});
