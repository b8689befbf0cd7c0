/**
 * IPv6 address text as the guard, rate limiting and server-name lists need it: parsed into its eight
 * words (so every notation of one address compares equal), written back in canonical form, and the
 * IPv4 address of an IPv4-mapped one. Pure: no I/O.
 */
import { isIP } from 'node:net';

/** The eight 16-bit words of an IPv6 address (`::` expanded, a dotted IPv4 tail converted). */
export function parseIPv6(address: string): number[] | undefined {
  const bare = address.replace(/%.*$/, ''); // zone id (fe80::1%eth0)
  if (isIP(bare) !== 6) return undefined;
  const toWords = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').flatMap((piece) => {
          if (!piece.includes('.')) return [parseInt(piece, 16)];
          const [a = 0, b = 0, c = 0, d = 0] = piece.split('.').map(Number);
          return [(a << 8) | b, (c << 8) | d];
        });
  const gap = bare.indexOf('::');
  if (gap < 0) return toWords(bare);
  const head = toWords(bare.slice(0, gap));
  const tail = toWords(bare.slice(gap + 2));
  return [...head, ...Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/** RFC 5952 text: lowercase, no leading zeros, the first longest run of two or more zero words as `::`. */
export function formatIPv6(words: readonly number[]): string {
  let best = { at: -1, len: 1 };
  for (let i = 0; i < words.length;) {
    let j = i;
    while (j < words.length && words[j] === 0) j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = words.map((w) => w.toString(16));
  if (best.at < 0) return hex.join(':');
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.len).join(':')}`;
}

/** Two words as dotted IPv4 text. */
export const dotted = (hi: number, lo: number): string => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;

/** The IPv4 address of an IPv4-mapped IPv6 address (::ffff:a.b.c.d, in any notation), if it is one. */
export function mappedIPv4(words: readonly number[]): string | undefined {
  const [a, b, c, d, e, f, g = 0, h = 0] = words;
  return a === 0 && b === 0 && c === 0 && d === 0 && e === 0 && f === 0xffff ? dotted(g, h) : undefined;
}
