/**
 * Element Call's hands and reactions as room events any member can send: only an event pointing
 * at its own sender's call membership, with a known emoji, counts (core/call-events.ts), and the
 * widget's RoomSignals applies them to the right tile and ignores our own echoes.
 */
import { describe, expect, it } from 'vitest';

import { handContent, parseCallEvent, reactionContent } from '../../widget/core/call-events.ts';
import { Ringing } from '../../widget/call/ringing.ts';
import { RoomSignals, type RoomEvents } from '../../widget/call/room-signals.ts';
import { SignalsChannel } from '../../widget/call/signals-channel.ts';
import { parseCallEnded } from '../../widget/core/signals.ts';

const bob = '@bob:b.example';
const mallory = '@mallory:b.example';
const membership = (sender: string, device: string, eventId: string, stateKey = `_${sender}_${device}_m.call`) => ({
  type: 'org.matrix.msc3401.call.member',
  sender,
  event_id: eventId,
  state_key: stateKey,
  content: { application: 'm.call', device_id: device },
});
const event = (type: string, sender: string, eventId: string, content: Record<string, unknown>) => ({
  type,
  sender,
  event_id: eventId,
  origin_server_ts: 1_000,
  content,
});

describe('parseCallEvent', () => {
  it('reads a membership, a reaction, a raised hand and a redaction in Element Call’s shapes', () => {
    expect(parseCallEvent(membership(bob, 'DEV', '$m'))).toEqual({
      kind: 'membership',
      eventId: '$m',
      identity: `${bob}:DEV`,
      stateKey: `_${bob}_DEV_m.call`,
    });
    expect(parseCallEvent(event('io.element.call.reaction', bob, '$r', reactionContent('👏', '$m')))).toEqual({
      kind: 'reaction',
      sender: bob,
      target: '$m',
      emoji: '👏',
    });
    expect(parseCallEvent(event('m.reaction', bob, '$h', handContent('$m')))).toEqual({
      kind: 'hand',
      sender: bob,
      target: '$m',
      eventId: '$h',
      at: 1_000,
    });
    expect(parseCallEvent(event('m.room.redaction', bob, '$x', { redacts: '$h' }))).toEqual({
      kind: 'redaction',
      redacts: '$h',
    });
    expect(parseCallEvent({ ...event('m.room.redaction', bob, '$x', {}), redacts: '$h' })).toEqual({
      kind: 'redaction',
      redacts: '$h',
    });
  });

  it('names our reactions as Element Call does, “generic” for emojis it has no name for', () => {
    expect(reactionContent('🎉', '$m')['name']).toBe('party');
    expect(reactionContent('❤️', '$m')['name']).toBe('generic');
  });

  it('refuses a membership at a key naming someone else, unknown emojis, other annotations and junk', () => {
    expect(parseCallEvent(membership(mallory, 'DEV', '$m', `_${bob}_DEV_m.call`))).toBeUndefined();
    expect(
      parseCallEvent(
        event('io.element.call.reaction', bob, '$r', { ...reactionContent('👏', '$m'), emoji: 'FREE MONEY' }),
      ),
    ).toBeUndefined();
    expect(parseCallEvent(event('io.element.call.reaction', bob, '$r', { emoji: '👏' }))).toBeUndefined();
    expect(
      parseCallEvent(
        event('m.reaction', bob, '$h', { 'm.relates_to': { rel_type: 'm.annotation', event_id: '$m', key: '👍' } }),
      ),
    ).toBeUndefined();
    expect(parseCallEvent(event('m.reaction', bob, '$h', handContent('$'.repeat(300))))).toBeUndefined();
    for (const junk of [
      null,
      42,
      'x',
      [],
      {},
      { type: 'm.reaction', sender: bob },
      { ...event('m.reaction', bob, '$h', handContent('$m')), content: 'x' },
    ])
      expect(parseCallEvent(junk)).toBeUndefined();
  });
});

describe('RoomSignals', () => {
  function setup() {
    let feed: (raw: unknown) => void = () => undefined;
    const sent: { type: string; content: Record<string, unknown> }[] = [];
    const redacted: string[] = [];
    const room: RoomEvents = {
      send: (type, content) => {
        sent.push({ type, content });
        return Promise.resolve(`$sent${sent.length}`);
      },
      redact: (id) => {
        redacted.push(id);
        return Promise.resolve();
      },
      onEvent: (h) => {
        feed = h;
      },
    };
    const signals = new SignalsChannel(
      () => Promise.resolve(),
      () => undefined,
      () => 5_000,
    );
    const rs = new RoomSignals(room, signals, '@me:a.example:ME');
    const deliver = (raw: unknown): void => {
      feed(raw);
    };
    return { feed: deliver, sent, redacted, signals, rs };
  }

  it('shows a hand and a reaction on the tile of the device whose membership they point at, lowers on redaction', () => {
    const { feed, signals } = setup();
    feed(membership(bob, 'DEV', '$m'));
    feed(event('m.reaction', bob, '$h', handContent('$m')));
    feed(event('io.element.call.reaction', bob, '$r', reactionContent('👏', '$m')));
    expect(signals.handAt(`${bob}:DEV`)).toBe(1_000);
    expect(signals.reaction(`${bob}:DEV`)?.emoji).toBe('👏');
    feed(event('m.room.redaction', bob, '$x', { redacts: '$h' }));
    expect(signals.handAt(`${bob}:DEV`)).toBeUndefined();
  });

  it('ignores a hand someone raises on another person’s membership, and our own echoes', () => {
    const { feed, signals } = setup();
    feed(membership(bob, 'DEV', '$m'));
    feed(membership('@me:a.example', 'ME', '$mine'));
    feed(event('m.reaction', mallory, '$h', handContent('$m')));
    feed(event('m.reaction', '@me:a.example', '$h2', handContent('$mine')));
    expect(signals.handAt(`${bob}:DEV`)).toBeUndefined();
    expect(signals.handAt('@me:a.example:ME')).toBeUndefined();
  });

  it('sends ours against our membership, and lowers our hand by redacting it', async () => {
    const { sent, redacted, rs } = setup();
    await rs.react('🎉'); // before our membership is written: nothing to point at
    expect(sent).toEqual([]);
    rs.joined('$mine');
    await rs.react('🎉');
    await rs.hand(true);
    await rs.hand(false);
    expect(sent.map((s) => s.type)).toEqual(['io.element.call.reaction', 'm.reaction']);
    expect(sent[1]?.content).toEqual(handContent('$mine'));
    expect(redacted).toEqual(['$sent2']);
  });
});

describe('parseCallEnded (the service’s “call ended” server data)', () => {
  const bytes = (v: unknown): Uint8Array => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));

  it('reads who ended the call, or nobody named', () => {
    expect(parseCallEnded('io.causerie.call', bytes({ ended: true, by: '@alice:a.example' }))).toEqual({
      by: '@alice:a.example',
    });
    expect(parseCallEnded('io.causerie.call', bytes({ ended: true }))).toEqual({ by: undefined });
    expect(parseCallEnded('io.causerie.call', bytes({ ended: true, by: 'not a user id' }))).toEqual({ by: undefined });
    expect(parseCallEnded('io.causerie.call', bytes({ ended: true, by: `@${'a'.repeat(300)}:x` }))).toEqual({
      by: undefined,
    });
  });

  it('ignores other topics, other shapes and junk', () => {
    for (const [topic, payload] of [
      ['io.causerie.hand', bytes({ ended: true })],
      [undefined, bytes({ ended: true })],
      ['io.causerie.call', bytes({ ended: 'yes' })],
      ['io.causerie.call', bytes('null')],
      ['io.causerie.call', bytes('{')],
      ['io.causerie.call', bytes({ ended: true, pad: 'x'.repeat(2000) })],
    ] as const)
      expect(parseCallEnded(topic, payload)).toBeUndefined();
  });
});

describe('Ringing', () => {
  function setup() {
    let feed: (raw: unknown) => void = () => undefined;
    const sent: string[] = [];
    const room: RoomEvents = {
      send: (type) => {
        sent.push(type);
        return Promise.resolve(`$${type}`);
      },
      redact: () => Promise.resolve(),
      onEvent: (h) => {
        feed = h;
      },
    };
    let changes = 0;
    const ringing = new Ringing(room, 'ring', '@me:a.example:ME', () => {
      changes++;
    });
    const deliver = (raw: unknown): void => {
      feed(raw);
    };
    return { feed: deliver, sent, ringing, changes: () => changes };
  }

  it('rings (both forms) when we start the call, and records who declines our ring, once each', async () => {
    const { feed, sent, ringing, changes } = setup();
    feed(membership('@me:a.example', 'ME', '$mine'));
    await ringing.joined('$mine', false, 1_000);
    expect(sent).toEqual(['org.matrix.msc4075.rtc.notification', 'org.matrix.msc4075.call.notify']);
    const decline = (sender: string, target: string) =>
      event('org.matrix.msc4310.rtc.decline', sender, `$d-${sender}`, {
        'm.relates_to': { rel_type: 'm.reference', event_id: target },
      });
    feed(decline(bob, '$org.matrix.msc4075.rtc.notification'));
    feed(decline(bob, '$org.matrix.msc4075.rtc.notification'));
    feed(decline(mallory, '$someone-elses-ring'));
    expect(ringing.declined).toEqual([bob]);
    expect(changes()).toBe(1);
  });

  it('does not ring when someone is already in the call (we joined it, we did not start it)', async () => {
    const { feed, sent, ringing } = setup();
    feed(membership(bob, 'DEV', '$m'));
    await ringing.joined('$mine', false, 1_000);
    expect(sent).toEqual([]);
    // Bob left: the next call we join alone is ours to announce.
    feed({ ...membership(bob, 'DEV', '$m2'), content: {} });
    await ringing.joined('$mine2', true, 2_000);
    expect(sent).toHaveLength(2);
  });
});
