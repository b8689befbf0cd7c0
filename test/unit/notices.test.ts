import { describe, expect, it } from 'vitest';

import { notices, safeName } from '../../appservice/notices.ts';

const WJ = '\u2060';

describe('names quoted in bot notices', () => {
  it.each([
    ['a plain name', 'Alice Martin', 'Alice Martin'],
    ['accents and emoji', 'Zoé 🎉', 'Zoé 🎉'],
    ['a newline forging a second line', 'Alice\n📴 Call ended', 'Alice 📴 Call ended'],
    ['CR, tab, vertical tab and form feed', 'A\r\nB\tC\vD\fE', 'A B C D E'],
    ['Unicode line and paragraph separators', 'A\u2028B\u2029C', 'A B C'],
    ['runs of spaces and padding', '   A    B   ', 'A B'],
    ['C0 controls and DEL', 'Al\u0000i\u001bce\u007f', 'Alice'],
    ['C1 controls (NEL)', 'A\u0085B\u009b', 'A B'],
    ['bidi overrides and embeddings', '\u202eecilA\u202c \u202aB\u202b\u202d', 'ecilA B'],
    ['bidi isolates', '\u2066A\u2067B\u2068C\u2069', 'ABC'],
  ])('%s: %j becomes %j', (_what, name, shown) => {
    expect(safeName(name, '@u:a.example')).toBe(shown);
  });

  it.each(['@room', '@ROOM', 'hey @Room!', '@ro\u0000om', '@\u202eroom'])('%j cannot notify the room', (name) => {
    const shown = safeName(name, '@u:a.example');
    expect(shown.toLowerCase()).not.toContain('@room');
    expect(shown.toLowerCase()).toContain(`@${WJ}room`);
  });

  it('is bounded to 64 characters plus an ellipsis, without splitting a character', () => {
    const shown = safeName('😀'.repeat(100), '@u:a.example');
    expect(Array.from(shown)).toHaveLength(65);
    expect(shown.endsWith('😀…')).toBe(true);
    expect(safeName('x'.repeat(64))).toBe('x'.repeat(64));
  });

  it.each(['', '   ', '\n\u202e\u0000', undefined])('falls back to the user id when the name is %j', (name) => {
    expect(safeName(name, '@bob:b.example')).toBe('@bob:b.example');
  });

  it('a user id used as fallback is made safe too', () => {
    expect(safeName('', '@room:evil.example')).toBe(`@${WJ}room:evil.example`);
  });
});

describe('notices naming members', () => {
  it('"call started" keeps to two lines whatever the name, and names a member without display name by user id', () => {
    const text = notices.started({ userId: '@eve:evil.example', displayName: 'Eve\n@room Call ended\u2028' });
    expect(text.split('\n')).toHaveLength(2);
    expect(text).not.toMatch(/@room/i);
    expect(text).not.toMatch(/[\u2028\u2029]/);
    expect(notices.started({ userId: '@bob:b.example', displayName: undefined })).toContain(
      'Call started by @bob:b.example —',
    );
  });

  it('"call started" also sanitises a name the caller already chose', () => {
    expect(notices.started('Eve\n@room')).toBe(
      `📞 Appel démarré par Eve @${WJ}room — rejoignez-le depuis le widget « Causerie ».\n📞 Call started by Eve @${WJ}room — join from the "Causerie" widget.`,
    );
  });

  it('"call ended" sanitises every participant name', () => {
    const text = notices.ended('12 min', [
      { userId: '@a:a.example', displayName: 'Ann' },
      { userId: '@b:b.example', displayName: '\u202e' },
      '@room\nX',
    ]);
    expect(text.split('\n')).toHaveLength(2);
    expect(text).toContain(`participants: Ann, @b:b.example, @${WJ}room X.`);
  });

  it('an unknown command word is echoed safely', () => {
    expect(notices.unknown('@room')).not.toMatch(/@room/i);
  });
});

describe('invisible and direction characters', () => {
  it.each([
    ['zero-width space', 'Al\u200bice'],
    ['left-to-right mark', 'Al\u200eice'],
    ['right-to-left mark', 'Al\u200fice'],
    ['Arabic letter mark', 'Al\u061cice'],
    ['byte order mark', 'Al\ufeffice'],
  ])('removes the %s from a name', (_what, name) => {
    expect(safeName(name)).toBe('Alice');
  });
});
