/**
 * Media keys and call members (widget/core): who gets our key, when it rotates, and which received
 * keys are refused — the rules the encrypted-call browser tests exercise end to end.
 */
import { describe, expect, it } from 'vitest';

import { CallMembers, type CallMember } from '../../widget/core/call-members.ts';
import { ENCRYPTION_KEYS_EVENT, MediaKeys, toBase64, type KeysContent } from '../../widget/core/media-keys.ts';

const ROOM = '!room:a.example';
const ALICE = { userId: '@alice:a.example', deviceId: 'ALICEDEV', memberId: 'm-alice' };

function member(userId: string, deviceId: string, createdTs = 1_000): CallMember {
  return { userId, deviceId, createdTs, expiresAt: createdTs + 3_600_000 };
}

function harness(opts: { failSend?: boolean; lobby?: boolean } = {}) {
  let now = 10_000;
  const sent: { to: string[]; content: KeysContent }[] = [];
  const set: { identity: string; index: number; key: string }[] = [];
  const failures: unknown[] = [];
  const slept: number[] = [];
  let n = 0;
  const keys = new MediaKeys({
    own: ALICE,
    roomId: ROOM,
    send: (targets, content) => {
      if (opts.failSend === true) return Promise.reject(new Error('the host cannot encrypt'));
      sent.push({ to: targets.map((t) => `${t.userId}:${t.deviceId}`), content });
      return Promise.resolve();
    },
    setKey: (identity, index, key) => set.push({ identity, index, key: toBase64(key) }),
    onSendFailed: (err) => failures.push(err),
    onKeysChanged: () => undefined,
    now: () => now,
    sleep: (ms) => {
      slept.push(ms);
      return Promise.resolve();
    },
    // Distinct, recognisable keys: the nth key is 16 bytes of n.
    random: (bytes) => new Uint8Array(bytes).fill(++n),
  });
  if (opts.lobby !== true) keys.joinedCall();
  return {
    keys,
    sent,
    set,
    failures,
    slept,
    advance: (ms: number) => {
      now += ms;
    },
    now: () => now,
  };
}

const keyEvent = (over: Record<string, unknown> = {}, keysOver: Record<string, unknown> = {}) => ({
  type: ENCRYPTION_KEYS_EVENT,
  sender: '@bob:b.example',
  encrypted: true,
  content: {
    keys: { index: 0, key: toBase64(new Uint8Array(16).fill(7)), ...keysOver },
    room_id: ROOM,
    member: { id: 'm-bob', claimed_device_id: 'BOBDEV' },
    session: { application: 'm.call', call_id: '', scope: 'm.room' },
    sent_ts: 5,
    ...over,
  },
});

describe('media keys', () => {
  it('our first key is used at once and goes, in Element Call’s shape, to every other device in the call; in the call the next key follows', async () => {
    const h = harness();
    h.keys.start();
    expect(h.set).toEqual([
      { identity: '@alice:a.example:ALICEDEV', index: 0, key: toBase64(new Uint8Array(16).fill(1)) },
    ]);
    h.keys.membersChanged([member(ALICE.userId, ALICE.deviceId), member('@bob:b.example', 'BOBDEV')]);
    await h.keys.settled();
    expect(h.sent[0]?.to).toEqual(['@bob:b.example:BOBDEV']);
    expect(h.sent[0]?.content).toEqual({
      keys: { index: 0, key: toBase64(new Uint8Array(16).fill(1)) },
      room_id: ROOM,
      member: { id: 'm-alice', claimed_device_id: 'ALICEDEV' },
      session: { application: 'm.call', call_id: '', scope: 'm.room' },
      sent_ts: h.now(),
    });
    // The next key, to have one ready for a newcomer; our media stays on the first.
    expect(h.sent[1]).toMatchObject({ to: ['@bob:b.example:BOBDEV'], content: { keys: { index: 1 } } });
    expect(h.sent).toHaveLength(2);
    expect(h.set).toHaveLength(1);
  });

  it('from the lobby, our key goes out once and no next key is kept', async () => {
    const h = harness({ lobby: true });
    h.keys.membersChanged([member('@bob:b.example', 'BOBDEV')]);
    await h.keys.settled();
    expect(h.sent.map((x) => x.content.keys.index)).toEqual([0]);
  });

  it('a joiner within 10 s gets the current key alone; later, the next key (already with the others), used at once; a joiner never gets a key used before they came', async () => {
    const h = harness();
    h.keys.membersChanged([member('@bob:b.example', 'BOBDEV')]);
    await h.keys.settled();
    h.advance(5_000);
    h.keys.membersChanged([member('@bob:b.example', 'BOBDEV'), member('@carol:a.example', 'CAROLDEV')]);
    await h.keys.settled();
    expect(h.sent.slice(2).map((x) => [x.to, x.content.keys.index])).toEqual([
      [['@carol:a.example:CAROLDEV'], 0],
      [['@carol:a.example:CAROLDEV'], 1],
    ]);
    h.advance(10_000);
    const sentBefore = h.sent.length;
    h.keys.membersChanged([
      member('@bob:b.example', 'BOBDEV'),
      member('@carol:a.example', 'CAROLDEV'),
      member('@dan:b.example', 'DANDEV'),
    ]);
    await h.keys.settled();
    const after = h.sent.slice(sentBefore);
    // Dan gets key 1 (held by Bob and Carol, never used), our media moves to it at once…
    expect(after[0]).toMatchObject({ to: ['@dan:b.example:DANDEV'], content: { keys: { index: 1 } } });
    expect(h.set.at(-1)).toMatchObject({ identity: '@alice:a.example:ALICEDEV', index: 1 });
    // …and a new next key goes to all three.
    expect(after[1]?.to.sort()).toEqual([
      '@bob:b.example:BOBDEV',
      '@carol:a.example:CAROLDEV',
      '@dan:b.example:DANDEV',
    ]);
    expect(after[1]?.content.keys.index).toBe(2);
    expect(h.sent.filter((x) => x.to.includes('@dan:b.example:DANDEV')).map((x) => x.content.keys.index)).toEqual([
      1, 2,
    ]);
  });

  it('alone in the call with an old key: a newcomer gets a fresh key, used at once (nobody else needs time to receive it)', async () => {
    const h = harness();
    h.keys.membersChanged([]);
    await h.keys.settled();
    h.advance(60_000);
    h.keys.membersChanged([member('@bob:b.example', 'BOBDEV')]);
    await h.keys.settled();
    expect(h.sent[0]).toMatchObject({ to: ['@bob:b.example:BOBDEV'], content: { keys: { index: 1 } } });
    expect(h.set.at(-1)).toMatchObject({ identity: '@alice:a.example:ALICEDEV', index: 1 });
    expect(h.slept).toEqual([]);
  });

  it('someone leaving rotates to a fresh key, past the next one they hold, sent only to those who stay', async () => {
    const h = harness();
    h.keys.membersChanged([member('@bob:b.example', 'BOBDEV'), member('@carol:a.example', 'CAROLDEV')]);
    await h.keys.settled();
    const heldByBob = h.sent.filter((x) => x.to.includes('@bob:b.example:BOBDEV')).map((x) => x.content.keys.key);
    h.keys.membersChanged([member('@carol:a.example', 'CAROLDEV')]);
    await h.keys.settled();
    const fresh = h.sent.find((x) => x.content.keys.index === 2);
    expect(fresh?.to).toEqual(['@carol:a.example:CAROLDEV']);
    expect(heldByBob).not.toContain(fresh?.content.keys.key);
    expect(h.set.at(-1)).toMatchObject({ identity: '@alice:a.example:ALICEDEV', index: 2 });
    // Carol gets time to receive it before our media uses it.
    expect(h.slept).toEqual([1_000]);
    expect(h.sent.every((x) => x.content.keys.index < 2 || !x.to.includes('@bob:b.example:BOBDEV'))).toBe(true);
    // The last one leaving: a new key, ours alone, used at once.
    const sent = h.sent.length;
    h.keys.membersChanged([]);
    await h.keys.settled();
    expect(h.set.at(-1)?.index).toBeGreaterThan(2);
    expect(h.sent).toHaveLength(sent);
  });

  it('a re-joined device (new membership) gets the key again; the index wraps after 255', async () => {
    const h = harness();
    h.keys.membersChanged([member('@bob:b.example', 'BOBDEV', 1)]);
    await h.keys.settled();
    h.keys.membersChanged([member('@bob:b.example', 'BOBDEV', 2)]);
    await h.keys.settled();
    // A re-join counts as a leave and a join: a fresh key for the new membership (and a next one).
    expect(h.sent.map((s) => [s.to, s.content.keys.index])).toEqual([
      [['@bob:b.example:BOBDEV'], 0],
      [['@bob:b.example:BOBDEV'], 1],
      [['@bob:b.example:BOBDEV'], 2],
      [['@bob:b.example:BOBDEV'], 3],
    ]);
    for (let i = 0; i < 600; i++) {
      h.keys.membersChanged(i % 2 === 0 ? [] : [member('@bob:b.example', 'BOBDEV', 2)]);
      await h.keys.settled();
    }
    expect(h.set.every((s) => s.index >= 0 && s.index <= 255)).toBe(true);
    expect(h.set.some((s, i) => i > 0 && s.index === 0)).toBe(true);
  });

  it('a key that cannot be sent (no crypto in the host) fails the encryption', async () => {
    const h = harness({ failSend: true });
    h.keys.membersChanged([member('@bob:b.example', 'BOBDEV')]);
    await h.keys.settled();
    expect(h.failures).toHaveLength(1);
  });

  it('received keys: taken from a call member’s device; refused when clear, malformed, for another room, our own, from another device than claimed, or stale; held until the sender’s membership arrives', () => {
    const h = harness();
    h.keys.start();
    const bob = member('@bob:b.example', 'BOBDEV');
    expect(h.keys.received({ ...keyEvent(), encrypted: false })).toBe('unencrypted');
    expect(h.keys.received({ ...keyEvent(), type: 'm.other' })).toBe('not_keys');
    expect(h.keys.received(keyEvent({ room_id: '!other:a.example' }))).toBe('other_room');
    expect(h.keys.received(keyEvent({}, { index: 256 }))).toBe('malformed');
    expect(h.keys.received(keyEvent({}, { index: 1.5 }))).toBe('malformed');
    expect(h.keys.received(keyEvent({}, { key: 'not base64!' }))).toBe('malformed');
    expect(h.keys.received(keyEvent({}, { key: toBase64(new Uint8Array(8)) }))).toBe('malformed');
    expect(h.keys.received(keyEvent({ member: 'BOBDEV' }))).toBe('malformed');
    expect(h.keys.received(keyEvent({ session: { application: 'm.other' } }))).toBe('malformed');
    expect(h.keys.received({ ...keyEvent({ member: { claimed_device_id: 'ALICEDEV' } }), sender: ALICE.userId })).toBe(
      'own_device',
    );
    // Sent by another of Bob's devices than the one it claims (where the client says which).
    expect(h.keys.received({ ...keyEvent(), senderDevice: 'BOBOTHER' })).toBe('wrong_device');
    // Bob's key before his membership: held, then taken when it arrives.
    expect(h.keys.received(keyEvent({ sent_ts: 10 }))).toBe('pending');
    expect(h.keys.hasKeyFor('@bob:b.example:BOBDEV')).toBe(false);
    h.keys.membersChanged([bob]);
    expect(h.keys.hasKeyFor('@bob:b.example:BOBDEV')).toBe(true);
    expect(h.set.at(-1)).toEqual({
      identity: '@bob:b.example:BOBDEV',
      index: 0,
      key: toBase64(new Uint8Array(16).fill(7)),
    });
    // An older key at the same index is stale.
    expect(h.keys.received(keyEvent({ sent_ts: 9 }))).toBe('outdated');
    // A device Bob does not have in the call: the key is not for any member (held, never applied).
    expect(h.keys.received(keyEvent({ member: { claimed_device_id: 'OTHERDEV' }, sent_ts: 11 }))).toBe('pending');
    expect(h.keys.hasKeyFor('@bob:b.example:OTHERDEV')).toBe(false);
    // Someone else claiming Bob's device: keys are attributed to their authenticated sender only.
    expect(h.keys.received({ ...keyEvent({ sent_ts: 12 }), sender: '@mallory:c.example' })).toBe('pending');
    expect(h.set.filter((s) => s.identity.startsWith('@mallory'))).toEqual([]);
  });
});

describe('call members', () => {
  const ev = (sender: string, stateKey: string, content: Record<string, unknown>, ts = 1_000) => ({
    type: 'org.matrix.msc3401.call.member',
    sender,
    state_key: stateKey,
    origin_server_ts: ts,
    content,
  });
  const joined = (userId: string, membership = 'join') => ({
    type: 'm.room.member',
    state_key: userId,
    content: { membership },
  });

  it('reads per-device memberships, drops leaves, foreign state keys, expired ones and members no longer joined', () => {
    const m = new CallMembers();
    expect(
      m.take(
        ev('@bob:b.example', '_@bob:b.example_BOBDEV_m.call', {
          device_id: 'BOBDEV',
          created_ts: 2_000,
          expires: 10_000,
        }),
      ),
    ).toBe(true);
    expect(m.current(3_000)).toEqual([
      { userId: '@bob:b.example', deviceId: 'BOBDEV', createdTs: 2_000, expiresAt: 12_000 },
    ]);
    expect(m.current(12_000)).toEqual([]);
    // Someone writing a membership under another user's key is not that user.
    m.take(ev('@mallory:c.example', '_@bob:b.example_EVIL_m.call', { device_id: 'EVIL' }));
    expect(m.current(3_000).map((x) => x.deviceId)).toEqual(['BOBDEV']);
    // Banned: no longer in the call, whatever their membership says.
    expect(m.take(joined('@bob:b.example', 'ban'))).toBe(true);
    expect(m.current(3_000)).toEqual([]);
    m.take(joined('@bob:b.example'));
    expect(m.has('@bob:b.example', 'BOBDEV', 3_000)).toBe(true);
    // A leave is an empty membership.
    expect(m.take(ev('@bob:b.example', '_@bob:b.example_BOBDEV_m.call', {}))).toBe(true);
    expect(m.current(3_000)).toEqual([]);
    // Not a call membership at all.
    expect(m.take({ type: 'm.room.name', state_key: '', content: { name: 'x' } })).toBe(false);
    expect(m.take(null)).toBe(false);
  });
});
