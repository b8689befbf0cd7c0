import { randomBytes } from 'node:crypto';

import { RoomServiceClient } from 'livekit-server-sdk';
import { describe, expect, it } from 'vitest';

import { stackEnv } from '../../scripts/stack/clients/env.ts';

const httpUrl = (): string => stackEnv().livekit.url.replace(/^ws/, 'http');

describe('LiveKit server API', () => {
  it('creates, lists and deletes a room with the configured key', async () => {
    const { api_key, api_secret } = stackEnv().livekit;
    const rooms = new RoomServiceClient(httpUrl(), api_key, api_secret);
    const name = `stack-check-${randomBytes(4).toString('hex')}`;

    const created = await rooms.createRoom({ name, emptyTimeout: 30 });
    expect(created.name).toBe(name);
    expect((await rooms.listRooms([name])).map((r) => r.name)).toEqual([name]);

    await rooms.deleteRoom(name);
    expect(await rooms.listRooms([name])).toEqual([]);
  });

  it('refuses a wrong secret', async () => {
    const rooms = new RoomServiceClient(httpUrl(), stackEnv().livekit.api_key, 'x'.repeat(40));
    await expect(rooms.listRooms()).rejects.toThrow(/401|unauthori[sz]ed|invalid/i);
  });
});
