import { ParticipantInfo, WebhookEvent } from 'livekit-server-sdk';
import { describe, expect, it, vi } from 'vitest';

import { LivekitEvents } from '../../appservice/livekit-events.ts';
import { livekitRoomAlias } from '../../core/livekit-names.ts';

const ROOM = '!r:a.example';
const ALIAS = livekitRoomAlias(ROOM);

const webhook = (event: string, alias = ALIAS): WebhookEvent =>
  // The SDK's class does not take `event` from its constructor argument.
  Object.assign(
    new WebhookEvent({
      room: { name: alias },
      participant: new ParticipantInfo({ identity: 'bob-id', sid: 'PA_1', attributes: { matrix_device_id: 'DEV' } }),
    }),
    { event },
  );

const events = (admitted: 'admitted' | 'removed') => {
  const order: string[] = [];
  const step =
    <T = undefined>(name: string, value?: T) =>
    () => {
      order.push(name);
      return Promise.resolve(value as T);
    };
  const call = {
    callId: 7,
    roomId: ROOM,
    livekitRoom: ALIAS,
    startedAt: new Date(),
    startedBy: undefined,
    startEventId: undefined,
  };
  const deps = {
    rooms: { roomIds: () => [ROOM] },
    store: {
      start: vi.fn(step('store.start', { call, created: false, resumed: false })),
      running: vi.fn(step('store.running', call)),
      participantJoined: vi.fn(step('store.participantJoined')),
      participantLeft: vi.fn(step('store.participantLeft')),
    },
    calls: { finish: vi.fn(step('calls.finish')), announceStartedElsewhere: vi.fn(step('calls.announce')) },
    identities: { usersOf: () => Promise.resolve(new Map([['bob-id', '@bob:b.example']])) },
    revoker: { admit: vi.fn(step('revoker.admit', admitted)) },
    delayedLeaves: {
      joined: vi.fn(step('delayedLeaves.joined', 'kept' as const)),
      left: vi.fn(step('delayedLeaves.left', 'sent' as const)),
    },
    staleMemberships: {
      watch: vi.fn(() => {
        order.push('staleMemberships.watch');
      }),
    },
    remoteMembers: { present: () => false },
  };
  return { e: new LivekitEvents(deps), deps, order };
};

describe('LiveKit webhooks', () => {
  it('a joining participant’s rights come first; then its delayed leave is kept and it is counted in', async () => {
    const { e, deps, order } = events('admitted');
    await e.onWebhook(webhook('participant_joined'));
    expect(order).toEqual([
      'revoker.admit',
      'delayedLeaves.joined',
      'store.start',
      'store.participantJoined',
      'calls.announce',
    ]);
    expect(deps.store.participantJoined).toHaveBeenCalledWith(7, 'bob-id', '@bob:b.example', 'DEV', expect.any(Date));
  });

  it('a member removed on reconnecting is neither counted in nor has its delayed leave kept alive', async () => {
    const { e, order } = events('removed');
    await e.onWebhook(webhook('participant_joined'));
    expect(order).toEqual(['revoker.admit']);
  });

  it('a leaving participant’s delayed leave is handled before it is counted out, then its membership watched', async () => {
    const { e, deps, order } = events('admitted');
    await e.onWebhook(webhook('participant_left'));
    expect(order).toEqual(['delayedLeaves.left', 'store.running', 'store.participantLeft', 'staleMemberships.watch']);
    expect(deps.staleMemberships.watch).toHaveBeenCalledWith(ROOM, ALIAS, 'bob-id');
  });

  it('a finished room ends its call; a LiveKit room we do not serve is ignored', async () => {
    const { e, deps, order } = events('admitted');
    await e.onWebhook(webhook('room_finished'));
    expect(deps.calls.finish).toHaveBeenCalledWith(ROOM, 'room_finished');
    await e.onWebhook(webhook('participant_joined', 'not-ours'));
    expect(order).toEqual(['calls.finish']);
  });
});
