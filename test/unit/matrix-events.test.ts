import { describe, expect, it } from 'vitest';

import { createContent, decodeEvent, memberContent, parsePowerLevels, powerLevel } from '../../core/matrix-events.ts';

const base = {
  type: 'm.room.member',
  sender: '@a:example.org',
  room_id: '!r:example.org',
  event_id: '$e',
  state_key: '@a:example.org',
  content: { membership: 'join' },
};

describe('events decoded at the edge', () => {
  it('decodes a well-formed event', () => {
    expect(decodeEvent(base)).toMatchObject({
      ok: true,
      event: { type: 'm.room.member', state_key: '@a:example.org' },
    });
  });

  it.each([
    ['content that is an array', { ...base, content: [1] }],
    ['content that is a string', { ...base, content: 'x' }],
    ['a sender that is a number', { ...base, sender: 42 }],
    ['a sender that is no user id', { ...base, sender: 'alice' }],
    ['a 300-character type', { ...base, type: 't'.repeat(300) }],
    ['a state key that is an object', { ...base, state_key: { a: 1 } }],
    ['a 100 KiB state key', { ...base, type: 'x.y', state_key: 'k'.repeat(100_000) }],
    ['a member event whose state key is no user id', { ...base, state_key: 'nobody' }],
    ['an unknown membership', { ...base, content: { membership: 'boss' } }],
    ['null', null],
    ['a number', 17],
  ])('refuses %s with a reason', (_what, raw) => {
    const d = decodeEvent(raw);
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.reason).toMatch(/^bad_/);
  });

  it('reads fields of the wrong type as absent, and bounds display names', () => {
    expect(memberContent({ membership: 'join', displayname: 12 })).toEqual({
      membership: 'join',
      displayname: undefined,
    });
    expect(memberContent({ membership: 'join', displayname: 'x'.repeat(10_000) })?.displayname).toHaveLength(256);
    expect(decodeEvent({ ...base, origin_server_ts: 'yesterday' })).toMatchObject({ ok: true });
  });

  it('reads power levels given as strings (rooms before v10), and nothing else', () => {
    expect(powerLevel('50')).toBe(50);
    expect(powerLevel(' -10 ')).toBe(-10);
    expect(powerLevel('5e1')).toBeUndefined();
    expect(powerLevel('0x10')).toBeUndefined();
    expect(powerLevel(1.5)).toBeUndefined();
    expect(powerLevel(2 ** 60)).toBeUndefined();
    const pl = parsePowerLevels({
      users: { '@a:x': '100', '@b:x': { nested: true }, ['@' + 'c'.repeat(300)]: 5 },
      users_default: 'zero',
      events: { 'org.matrix.msc3401.call.member': '0' },
      kick: '75',
      extra: [[[1]]],
    });
    expect(pl).toEqual({
      users: { '@a:x': 100 },
      users_default: 0,
      events: { 'org.matrix.msc3401.call.member': 0 },
      state_default: 50,
      events_default: 0,
      kick: 75,
      ban: 50,
      invite: 0,
      redact: 50,
    });
    // Stored decoded, and decoding again changes nothing.
    expect(parsePowerLevels(pl)).toEqual(pl);
  });

  it('reads the room version and additional creators, dropping what is not a user id', () => {
    expect(createContent({ room_version: 12, additional_creators: ['@x:y', 3, 'bad'] })).toEqual({
      roomVersion: '1',
      additionalCreators: ['@x:y'],
    });
  });
});
