/**
 * Raised hands and reactions in the widget, with a fake data channel and fake timers: what we
 * send, what we keep from others, and how long a reaction shows.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { REACTION_MS, SignalsChannel } from '../../widget/call/signals-channel.ts';
import { HAND_TOPIC, parseSignal, REACTION_TOPIC } from '../../widget/core/signals.ts';

const T0 = 1_800_000_000_000;

function channel() {
  const sent: { topic: string; msg: unknown; to: string[] | undefined }[] = [];
  const changed = vi.fn();
  const signals = new SignalsChannel(
    (topic, payload, to) => {
      sent.push({ topic, msg: JSON.parse(new TextDecoder().decode(payload)), to });
      return Promise.resolve();
    },
    changed,
    () => Date.now(),
  );
  return { signals, sent, changed };
}

const enc = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('hands and reactions in the call', () => {
  it('raises and lowers our hand, telling everyone', async () => {
    const { signals, sent } = channel();
    await signals.toggleHand('me');
    expect(signals.handAt('me')).toBe(T0);
    await signals.toggleHand('me');
    expect(signals.handAt('me')).toBeUndefined();
    expect(sent).toEqual([
      { topic: HAND_TOPIC, msg: { raised: true, at: T0 }, to: undefined },
      { topic: HAND_TOPIC, msg: { raised: false }, to: undefined },
    ]);
    expect(parseSignal(HAND_TOPIC, enc(sent[0]?.msg), T0)).toEqual({ kind: 'hand', raised: true, at: T0 });
  });

  it('tells a newcomer that our hand is up, and nothing when it is down', async () => {
    const { signals, sent } = channel();
    await signals.welcome('me', 'newcomer');
    expect(sent).toEqual([]);
    await signals.toggleHand('me');
    await signals.welcome('me', 'newcomer');
    expect(sent[1]).toEqual({ topic: HAND_TOPIC, msg: { raised: true, at: T0 }, to: ['newcomer'] });
  });

  it('keeps the hands others raise until they lower them or leave', () => {
    const { signals, changed } = channel();
    signals.received('bob', HAND_TOPIC, enc({ raised: true, at: T0 - 1_000 }));
    signals.received('carol', HAND_TOPIC, enc({ raised: true, at: T0 }));
    expect([signals.handAt('bob'), signals.handAt('carol')]).toEqual([T0 - 1_000, T0]);
    signals.received('bob', HAND_TOPIC, enc({ raised: false }));
    signals.forget('carol');
    expect([signals.handAt('bob'), signals.handAt('carol')]).toEqual([undefined, undefined]);
    expect(changed).toHaveBeenCalledTimes(3);
  });

  it('shows a reaction for 4 s, ours and others’', async () => {
    const { signals, sent, changed } = channel();
    await signals.react('me', '🎉');
    signals.received('bob', REACTION_TOPIC, enc({ emoji: '👍' }));
    expect(sent).toEqual([{ topic: REACTION_TOPIC, msg: { emoji: '🎉' }, to: undefined }]);
    expect(signals.reaction('bob')).toEqual({ emoji: '👍', until: T0 + REACTION_MS });
    changed.mockClear();
    await vi.advanceTimersByTimeAsync(REACTION_MS + 50);
    expect([signals.reaction('me'), signals.reaction('bob')]).toEqual([undefined, undefined]);
    expect(changed).toHaveBeenCalledTimes(2);
  });

  it('keeps showing a reaction sent again before the first one’s time is up', async () => {
    const { signals } = channel();
    signals.received('bob', REACTION_TOPIC, enc({ emoji: '👍' }));
    await vi.advanceTimersByTimeAsync(3_000);
    signals.received('bob', REACTION_TOPIC, enc({ emoji: '👏' }));
    await vi.advanceTimersByTimeAsync(1_100);
    expect(signals.reaction('bob')?.emoji).toBe('👏');
    await vi.advanceTimersByTimeAsync(3_000);
    expect(signals.reaction('bob')).toBeUndefined();
  });

  it('ignores what is not ours to read', () => {
    const { signals, changed } = channel();
    signals.received('bob', REACTION_TOPIC, enc({ emoji: '💣' }));
    signals.received('bob', 'io.example.other', enc({ raised: true }));
    expect(signals.reaction('bob')).toBeUndefined();
    expect(changed).not.toHaveBeenCalled();
  });
});
