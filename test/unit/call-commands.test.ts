import { describe, expect, it, vi } from 'vitest';

import { CallCommands, decideCommand, startRefusal, type CallPolicy } from '../../appservice/call-commands.ts';
import { notices } from '../../appservice/notices.ts';
import { parsePowerLevels, type MatrixEvent } from '../../core/matrix-events.ts';
import { isServerNameListed } from '../../core/matrix-ids.ts';
import type { CallRoomView } from '../../core/room-model.ts';

const policy: CallPolicy = {
  fullAccessServers: ['a.example'],
  serverListed: isServerNameListed,
  moderatorPowerLevel: 50,
};

const room = (powers: Record<string, number>, creators: string[] = []): CallRoomView => ({
  roomId: '!r:a.example',
  roomVersion: '12',
  creators: new Set(creators),
  members: new Map(Object.keys(powers).map((u) => [u, { membership: 'join' as const, displayname: undefined }])),
  rtc: new Map(),
  powerLevels: parsePowerLevels({ users: powers }),
});

describe('who may start a call', () => {
  it('a user of a full-access server may, whatever the case or trailing dot of its server name', () => {
    expect(decideCommand({ kind: 'start' }, '@alice:a.example', undefined, policy)).toEqual({ do: 'start' });
    expect(decideCommand({ kind: 'start' }, '@alice:A.Example.', undefined, policy)).toEqual({ do: 'start' });
  });

  it('a partner on another server may not, even as a moderator of the room', () => {
    const r = room({ '@bob:b.example': 100 });
    expect(decideCommand({ kind: 'start' }, '@bob:b.example', r, policy)).toEqual({ do: 'refuse_start' });
    expect(decideCommand({ kind: 'start' }, '@bob:a.example.b.example', r, policy)).toEqual({ do: 'refuse_start' });
  });

  it('a refused partner is told who can start a call when none runs', () => {
    expect(startRefusal(undefined, policy)).toBe(notices.notAllowedToStart(['a.example']));
    expect(startRefusal(undefined, policy)).toMatch(/Only members of a\.example can start a call/);
  });

  it('a refused partner is pointed to the call when one runs', () => {
    const running = { startedAt: new Date('2026-11-30T09:05:00Z') };
    expect(startRefusal(running, policy)).toMatch(/A call has been running since 09:05 UTC/);
  });
});

describe('who may end a call', () => {
  it('a member at the moderator level may; one below it is told which level it takes', () => {
    const r = room({ '@mod:a.example': 50, '@alice:a.example': 49 });
    expect(decideCommand({ kind: 'end' }, '@mod:a.example', r, policy)).toEqual({ do: 'end' });
    expect(decideCommand({ kind: 'end' }, '@alice:a.example', r, policy)).toEqual({
      do: 'reply',
      body: notices.notAllowedToEnd(50),
    });
  });

  it('a partner moderator may end it: ending depends on the room, not on the server', () => {
    expect(decideCommand({ kind: 'end' }, '@bob:b.example', room({ '@bob:b.example': 50 }), policy)).toEqual({
      do: 'end',
    });
  });

  it('a creator of a v12 room counts as a moderator; in a room we do not know, nobody does', () => {
    expect(decideCommand({ kind: 'end' }, '@c:a.example', room({}, ['@c:a.example']), policy)).toEqual({ do: 'end' });
    expect(decideCommand({ kind: 'end' }, '@c:a.example', undefined, policy)).toMatchObject({ do: 'reply' });
  });
});

describe('help and unknown words', () => {
  it('are answered with a notice and nothing else', () => {
    expect(decideCommand({ kind: 'help' }, '@bob:b.example', undefined, policy)).toEqual({
      do: 'reply',
      body: notices.help(),
    });
    expect(decideCommand({ kind: 'unknown', word: 'zap' }, '@bob:b.example', undefined, policy)).toEqual({
      do: 'reply',
      body: notices.unknown('zap'),
    });
  });
});

describe('answering !call messages', () => {
  const message = (sender: string, body: string): MatrixEvent => ({
    type: 'm.room.message',
    event_id: '$cmd',
    sender,
    room_id: '!r:a.example',
    content: { msgtype: 'm.text', body },
  });
  const commands = (running: { startedAt: Date } | undefined, justEnded = false) => {
    const calls = {
      notice: vi.fn(() => Promise.resolve('$n')),
      start: vi.fn(),
      finish: vi.fn(),
      closeLivekitRoom: vi.fn(),
    };
    const store = {
      running: vi.fn(() => Promise.resolve(running === undefined ? undefined : ({ ...running } as never))),
      endedWithoutSummary: vi.fn(() => Promise.resolve(undefined)),
      endedWithin: vi.fn(() => Promise.resolve(justEnded)),
    };
    const c = new CallCommands({
      botUserId: '@causerie:a.example',
      rooms: { peek: () => room({ '@mod:a.example': 50 }) },
      store,
      calls,
      policy,
      audit: { record: vi.fn() },
    });
    return { c, calls, store };
  };

  it('a partner’s !call while a call runs is answered with the running call, and starts nothing', async () => {
    const { c, calls } = commands({ startedAt: new Date('2026-11-30T09:05:00Z') });
    await c.onMessage(message('@bob:b.example', '!call'));
    expect(calls.start).not.toHaveBeenCalled();
    expect(calls.notice).toHaveBeenCalledWith(
      '!r:a.example',
      'causerie-reply-$cmd',
      expect.stringMatching(/running since 09:05 UTC/),
    );
  });

  it('a local user’s !call starts the call, without reading the running one first', async () => {
    const { c, calls, store } = commands(undefined);
    await c.onMessage(message('@alice:a.example', '!call'));
    expect(calls.start).toHaveBeenCalledWith('!r:a.example', '@alice:a.example', '$cmd');
    expect(store.running).not.toHaveBeenCalled();
  });

  it('!call end with no call: “no call is running”, unless a call ended a moment ago (the request re-sent, or another moderator quicker)', async () => {
    const none = commands(undefined);
    await none.c.onMessage(message('@mod:a.example', '!call end'));
    expect(none.calls.notice).toHaveBeenCalledWith(
      '!r:a.example',
      'causerie-reply-$cmd',
      expect.stringMatching(/No call is running/),
    );
    const ended = commands(undefined, true);
    await ended.c.onMessage(message('@mod:a.example', '!call end'));
    expect(ended.store.endedWithin).toHaveBeenCalledWith('!r:a.example', 60);
    expect(ended.calls.notice).not.toHaveBeenCalled();
    expect(ended.calls.finish).not.toHaveBeenCalled();
  });

  it('the bot’s own messages and other text are ignored', async () => {
    const { c, calls } = commands(undefined);
    await c.onMessage(message('@causerie:a.example', '!call help'));
    await c.onMessage(message('@alice:a.example', 'call me'));
    expect(calls.notice).not.toHaveBeenCalled();
    expect(calls.start).not.toHaveBeenCalled();
  });
});
