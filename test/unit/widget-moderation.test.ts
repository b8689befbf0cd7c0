/**
 * The widget's side of moderation: the service's notices decoded (and nothing else taken for them),
 * the same topic as the server's, and who may moderate from the room's state.
 */
import { describe, expect, it } from 'vitest';

import { MODERATION_TOPIC as SERVER_TOPIC } from '../../core/token-wire.ts';
import { moderationRights, powerIn } from '../../widget/core/moderation.ts';
import { MODERATION_TOPIC, parseModeration } from '../../widget/core/signals.ts';

const bytes = (v: unknown): Uint8Array => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));

describe('moderation notices', () => {
  it('uses the server’s topic', () => {
    expect(MODERATION_TOPIC).toBe(SERVER_TOPIC);
  });

  it('reads who muted or removed us, and whose hand was lowered', () => {
    expect(parseModeration(MODERATION_TOPIC, bytes({ action: 'muted', source: 'camera', by: '@a:x' }))).toEqual({
      action: 'muted',
      source: 'camera',
      by: '@a:x',
    });
    expect(parseModeration(MODERATION_TOPIC, bytes({ action: 'removed', by: '@a:x' }))).toEqual({
      action: 'removed',
      by: '@a:x',
    });
    expect(parseModeration(MODERATION_TOPIC, bytes({ action: 'lower_hand', target: 'id', by: '@a:x' }))).toEqual({
      action: 'lower_hand',
      target: 'id',
      by: '@a:x',
    });
  });

  it('reads a mute that is kept (locked: true only), and a moderator allowing us to unmute', () => {
    expect(
      parseModeration(MODERATION_TOPIC, bytes({ action: 'muted', source: 'microphone', by: '@a:x', locked: true })),
    ).toEqual({ action: 'muted', source: 'microphone', by: '@a:x', locked: true });
    expect(
      parseModeration(MODERATION_TOPIC, bytes({ action: 'muted', source: 'microphone', by: '@a:x', locked: 'yes' })),
    ).toEqual({ action: 'muted', source: 'microphone', by: '@a:x' });
    expect(parseModeration(MODERATION_TOPIC, bytes({ action: 'allowed', by: '@a:x' }))).toEqual({
      action: 'allowed',
      by: '@a:x',
    });
    expect(parseModeration(MODERATION_TOPIC, bytes({ action: 'allowed', by: 'a' }))).toBeUndefined();
  });

  it('ignores other topics, junk, unknown actions, sources, senders that are no user id, oversized payloads', () => {
    const ok = { action: 'muted', source: 'microphone', by: '@a:x' };
    expect(parseModeration('io.causerie.hand', bytes(ok))).toBeUndefined();
    expect(parseModeration(MODERATION_TOPIC, bytes('{not json'))).toBeUndefined();
    expect(parseModeration(MODERATION_TOPIC, bytes('null'))).toBeUndefined();
    expect(parseModeration(MODERATION_TOPIC, bytes({ ...ok, action: 'ban' }))).toBeUndefined();
    expect(parseModeration(MODERATION_TOPIC, bytes({ ...ok, source: 'screen' }))).toBeUndefined();
    expect(parseModeration(MODERATION_TOPIC, bytes({ ...ok, by: 'nobody' }))).toBeUndefined();
    expect(parseModeration(MODERATION_TOPIC, bytes({ action: 'lower_hand', by: '@a:x' }))).toBeUndefined();
    expect(parseModeration(MODERATION_TOPIC, bytes({ ...ok, pad: 'x'.repeat(10_000) }))).toBeUndefined();
  });
});

describe('moderation rights from the room state', () => {
  const create = (version: string, sender = '@creator:x', extra: string[] = []) => ({
    sender,
    content: { room_version: version, additional_creators: extra },
  });

  it('creators of v12+ rooms have unlimited power; otherwise the power levels decide (strings too)', () => {
    expect(powerIn({ powerLevels: { users: {} }, create: create('12') }, '@creator:x')).toBe(Infinity);
    expect(powerIn({ powerLevels: { users: {} }, create: create('12', '@c:x', ['@o:x']) }, '@o:x')).toBe(Infinity);
    expect(powerIn({ powerLevels: { users: { '@creator:x': 100 } }, create: create('10') }, '@creator:x')).toBe(100);
    expect(powerIn({ powerLevels: { users: { '@b:x': '50' } }, create: create('9') }, '@b:x')).toBe(50);
    expect(powerIn({ powerLevels: { users_default: 10 }, create: create('10') }, '@b:x')).toBe(10);
  });

  it('mute at 50, remove at the kick level, let in at the invite level', () => {
    const room = { powerLevels: { users: { '@m:x': 50, '@k:x': 75 }, kick: 75, invite: 50 }, create: create('10') };
    expect(moderationRights(room, '@m:x')).toEqual({ mute: true, remove: false, invite: true, power: 50 });
    expect(moderationRights(room, '@k:x')).toMatchObject({ mute: true, remove: true, invite: true });
    expect(moderationRights(room, '@nobody:x')).toMatchObject({ mute: false, remove: false, invite: false });
  });
});
