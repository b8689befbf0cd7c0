import { describe, expect, it } from 'vitest';

import {
  asUser,
  createRoom,
  eventually,
  inviteAndJoin,
  membership,
  registerUser,
  waitForMembership,
} from '../../scripts/stack/clients/matrix.ts';
import { homeserver } from '../../scripts/stack/clients/env.ts';

describe('federation between Synapse A and Synapse B', () => {
  it('a user on B joins a room created on A, and A sees the join arrive over federation', async () => {
    const alice = await registerUser('a');
    const bob = await registerUser('b');
    expect(alice.userId.endsWith(`:${homeserver('a').server_name}`)).toBe(true);
    expect(bob.userId.endsWith(`:${homeserver('b').server_name}`)).toBe(true);

    const roomId = await createRoom(alice, { name: 'federation check' });
    expect(await membership(alice, roomId, bob.userId)).toBeUndefined();

    await inviteAndJoin(alice, roomId, bob);
    await waitForMembership(alice, roomId, bob.userId, 'join');

    // The join event A holds was created by B's server: its sender is B's user and B signed it.
    const { chunk } = await asUser<{
      chunk: { type: string; state_key?: string; sender: string; content: { membership?: string } }[];
    }>(alice, 'GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/members`);
    const bobJoin = chunk.find((e) => e.state_key === bob.userId);
    expect(bobJoin?.content.membership).toBe('join');
    expect(bobJoin?.sender).toBe(bob.userId);

    // And B sees the room's name, which only A's server could have told it.
    const name = await asUser<{ name: string }>(
      bob,
      'GET',
      `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/m.room.name/`,
    );
    expect(name.name).toBe('federation check');
  });

  it('a message sent on B reaches A', async () => {
    const alice = await registerUser('a');
    const bob = await registerUser('b');
    const roomId = await createRoom(alice);
    await inviteAndJoin(alice, roomId, bob);
    const body = `hello from B ${Date.now()}`;
    const { event_id } = await asUser<{ event_id: string }>(
      bob,
      'PUT',
      `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/t${Date.now()}`,
      { msgtype: 'm.text', body },
    );
    const seen = await eventually('the message on A', async () => {
      try {
        return await asUser<{ content: { body: string } }>(
          alice,
          'GET',
          `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/event/${encodeURIComponent(event_id)}`,
        );
      } catch {
        return undefined;
      }
    });
    expect(seen.content.body).toBe(body);
  });
});
