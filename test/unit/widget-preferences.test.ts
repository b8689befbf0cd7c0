/**
 * What the widget remembers per browser (devices, microphone processing, sounds, layout, how to
 * start), the keyboard shortcuts, and which sounds a change in the call makes: pure, no DOM.
 */
import { describe, expect, it } from 'vitest';

import { soundsFor } from '../../widget/core/call-sounds.ts';
import { DEFAULT_PREFERENCES, parsePreferences, PreferenceStore } from '../../widget/core/preferences.ts';
import type { Person } from '../../widget/core/projection.ts';
import { shortcutFor, type KeyFacts } from '../../widget/core/shortcuts.ts';

class MemoryStorage {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
}

describe('remembered preferences', () => {
  it('starts from the defaults, and a choice is there for the next page', () => {
    const storage = new MemoryStorage();
    expect(new PreferenceStore(storage).get()).toEqual(DEFAULT_PREFERENCES);
    new PreferenceStore(storage).set({ micId: 'mic-2', noiseSuppression: false, layout: 'speaker', startCamOff: true });
    expect(new PreferenceStore(storage).get()).toMatchObject({
      micId: 'mic-2',
      noiseSuppression: false,
      layout: 'speaker',
      startCamOff: true,
      echoCancellation: true,
    });
  });

  it('takes from a stored value of anyone’s making only the fields of the right type', () => {
    expect(parsePreferences('not json')).toEqual(DEFAULT_PREFERENCES);
    expect(parsePreferences('[1,2]')).toEqual(DEFAULT_PREFERENCES);
    expect(parsePreferences('null')).toEqual(DEFAULT_PREFERENCES);
    expect(
      parsePreferences(
        JSON.stringify({
          cameraId: 42,
          micId: 'x'.repeat(600),
          speakerId: '',
          sounds: 'no',
          layout: 'carousel',
          echoCancellation: false,
        }),
      ),
    ).toEqual({ ...DEFAULT_PREFERENCES, echoCancellation: false });
  });

  it('keeps working for this page when the browser refuses storage', () => {
    const refusing = {
      getItem: (): string | null => {
        throw new Error('SecurityError');
      },
      setItem: (): void => {
        throw new Error('QuotaExceededError');
      },
    };
    const store = new PreferenceStore(refusing);
    expect(store.set({ sounds: false }).sounds).toBe(false);
    expect(store.get().sounds).toBe(false);
  });
});

describe('keyboard shortcuts', () => {
  const key = (k: string, facts: Partial<KeyFacts> = {}): ReturnType<typeof shortcutFor> =>
    shortcutFor({ key: k, ctrlKey: false, altKey: false, metaKey: false, inField: false, onControl: false, ...facts });

  it('maps M, V, H, Space and ? whatever the case', () => {
    expect([key('m'), key('M'), key('v'), key('h'), key(' '), key('?')]).toEqual([
      'toggle-mic',
      'toggle-mic',
      'toggle-cam',
      'toggle-hand',
      'push-to-talk',
      'open-help',
    ]);
    expect(key('x')).toBeUndefined();
  });

  it('leaves keys with Ctrl, Alt or Meta to the browser and the host, and typing in a field alone', () => {
    expect(key('m', { ctrlKey: true })).toBeUndefined();
    expect(key('m', { altKey: true })).toBeUndefined();
    expect(key('m', { metaKey: true })).toBeUndefined();
    expect(key('m', { inField: true })).toBeUndefined();
    // On a button, Space presses it; letters still work.
    expect(key(' ', { onControl: true })).toBeUndefined();
    expect(key('m', { onControl: true })).toBe('toggle-mic');
  });
});

describe('call sounds', () => {
  const person = (identity: string, p: Partial<Person> = {}): Person => ({
    identity,
    userId: `@${identity}:a.example`,
    name: identity,
    avatar: undefined,
    local: false,
    micOn: true,
    camOn: true,
    hand: undefined,
    micLocked: false,
    unreachable: false,
    elsewhere: undefined,
    ...p,
  });
  const me = person('me', { local: true });

  it('makes none for who is already there when we arrive', () => {
    expect(soundsFor(undefined, [me, person('bob'), person('carol', { hand: 1 })])).toEqual([]);
  });

  it('chimes when someone joins or leaves, and when someone else raises a hand', () => {
    expect(soundsFor([me], [me, person('bob')])).toEqual(['join']);
    expect(soundsFor([me, person('bob')], [me])).toEqual(['leave']);
    expect(soundsFor([me, person('bob')], [me, person('bob', { hand: 1 })])).toEqual(['hand']);
    expect(soundsFor([me, person('bob')], [me, person('carol')])).toEqual(['join', 'leave']);
  });

  it('makes none for ourselves, a hand already up, or a member who cannot be reached', () => {
    expect(soundsFor([me], [person('me', { local: true, hand: 1 })])).toEqual([]);
    expect(soundsFor([me, person('bob', { hand: 1 })], [me, person('bob', { hand: 1 })])).toEqual([]);
    expect(soundsFor([me], [me, person('zoe', { unreachable: true })])).toEqual([]);
  });
});
