/**
 * The pure part of guest links: a link opens only as signed (any change, another key, garbage: no
 * claims), the access token seal, a guest's display name, and what the gateway lets a guest ask.
 */
import { describe, expect, it } from 'vitest';

import {
  gatewayDecision,
  GuestLinkSigner,
  guestDisplayName,
  isGuestUser,
  TokenSealer,
} from '../../core/guest-links.ts';

const claims = { linkId: 'abc', roomId: '!room:a.example', expiresAt: 2_000_000_000 };

describe('guest link signatures', () => {
  const signer = new GuestLinkSigner('the service secret');

  it('a link it signed opens to its claims', () => {
    expect(signer.open(signer.sign(claims))).toEqual(claims);
  });

  it('a changed payload, a changed mac, another key, garbage or an overlong link opens to nothing', () => {
    const link = signer.sign(claims);
    const [payload = '', mac = ''] = link.split('.');
    const flip = (s: string, i: number): string => `${s.slice(0, i)}${s[i] === 'A' ? 'B' : 'A'}${s.slice(i + 1)}`;
    expect(signer.open(`${flip(payload, 3)}.${mac}`)).toBeUndefined();
    expect(signer.open(`${payload}.${flip(mac, 5)}`)).toBeUndefined();
    expect(new GuestLinkSigner('another secret').open(link)).toBeUndefined();
    expect(signer.open('garbage')).toBeUndefined();
    expect(signer.open(`${payload}.${mac}.extra`)).toBeUndefined();
    expect(signer.open(`${'a'.repeat(2000)}.${mac}`)).toBeUndefined();
    // Claims of the wrong shape, even if signed.
    const bad = Buffer.from(JSON.stringify({ v: 1, l: 1, r: '!r:a', e: 'soon' })).toString('base64url');
    const signedBad = `${bad}.${signer.sign(claims).split('.')[1] ?? ''}`;
    expect(signer.open(signedBad)).toBeUndefined();
  });
});

describe('sealed guest tokens', () => {
  it('opens what it sealed, and nothing sealed with another key or altered', () => {
    const sealer = new TokenSealer('secret one');
    const sealed = sealer.seal('syt_guest_token');
    expect(sealed).not.toContain('syt_guest_token');
    expect(sealer.open(sealed)).toBe('syt_guest_token');
    expect(new TokenSealer('secret two').open(sealed)).toBeUndefined();
    const [iv, tag, body = ''] = sealed.split('.');
    expect(sealer.open(`${iv}.${tag}.${body.slice(0, -2)}AA`)).toBeUndefined();
    expect(sealer.open('nonsense')).toBeUndefined();
  });
});

describe('guest display names', () => {
  it('keeps the name, adds the suffix in the link’s language', () => {
    expect(guestDisplayName('  Zoé   Lefèvre ', 'fr')).toBe('Zoé Lefèvre (invité)');
    expect(guestDisplayName('Sam', 'en')).toBe('Sam (guest)');
  });

  it('drops control, format and bidi characters that could hide or reorder the suffix', () => {
    expect(guestDisplayName('Eve\u202e)tseug(\u2066', 'en')).toBe('Eve)tseug( (guest)');
    expect(guestDisplayName('A\u0000\u200bB\nC', 'en')).toBe('AB C (guest)');
  });

  it('nothing to show is no name; a long name is cut between graphemes', () => {
    expect(guestDisplayName(' \u200b\u202e ', 'en')).toBeUndefined();
    const long = `${'é'.repeat(63)}👩‍👩‍👧x`;
    expect(guestDisplayName(long, 'en')).toBe(`${'é'.repeat(63)}👩‍👩‍👧 (guest)`);
  });
});

describe('guest users', () => {
  it('are the namespace prefix, guest_, on our server', () => {
    expect(isGuestUser('@causerie_guest_ab12:a.example', 'causerie_', 'a.example')).toBe(true);
    expect(isGuestUser('@causerie_guest_ab12:b.example', 'causerie_', 'a.example')).toBe(false);
    expect(isGuestUser('@alice:a.example', 'causerie_', 'a.example')).toBe(false);
  });
});

describe('what the gateway lets a guest ask', () => {
  const guest = { userId: '@causerie_guest_1:a.example', roomId: '!room:a.example' };
  const e = encodeURIComponent;
  const allowed = (method: string, path: string): boolean => gatewayDecision({ method, path }, guest).allow;

  it('the call of its room: read it, join or knock, its own membership and delayed leave, an OpenID token', () => {
    expect(allowed('GET', 'versions')).toBe(true);
    expect(allowed('POST', `v3/join/${e(guest.roomId)}`)).toBe(true);
    expect(allowed('POST', `v3/knock/${e(guest.roomId)}`)).toBe(true);
    expect(allowed('GET', `v3/rooms/${e(guest.roomId)}/members`)).toBe(true);
    expect(allowed('GET', `v3/rooms/${e(guest.roomId)}/state/m.room.encryption/`)).toBe(true);
    const own = `_${guest.userId}_DEVICE_m.call`;
    expect(allowed('PUT', `v3/rooms/${e(guest.roomId)}/state/org.matrix.msc3401.call.member/${e(own)}`)).toBe(true);
    expect(allowed('POST', 'unstable/org.matrix.msc4140/delayed_events/abc')).toBe(true);
    expect(allowed('POST', `v3/user/${e(guest.userId)}/openid/request_token`)).toBe(true);
  });

  it('a device of its own: sync, keys, encrypted to-device messages', () => {
    expect(gatewayDecision({ method: 'GET', path: 'v3/sync' }, guest)).toEqual({ allow: true, timeoutMs: 60_000 });
    expect(allowed('POST', 'v3/keys/upload')).toBe(true);
    expect(allowed('POST', 'v3/keys/query')).toBe(true);
    expect(allowed('PUT', 'v3/sendToDevice/m.room.encrypted/txn1')).toBe(true);
    expect(allowed('POST', `v3/user/${e(guest.userId)}/filter`)).toBe(true);
  });

  it('nothing else: other rooms, invites, kicks, messages, profile, other state, clear to-device, someone else’s OpenID', () => {
    const other = e('!other:a.example');
    expect(gatewayDecision({ method: 'POST', path: `v3/join/${other}` }, guest)).toEqual({
      allow: false,
      reason: 'other_room',
    });
    expect(allowed('GET', `v3/rooms/${other}/members`)).toBe(false);
    expect(allowed('POST', 'v3/createRoom')).toBe(false);
    expect(allowed('POST', `v3/rooms/${e(guest.roomId)}/invite`)).toBe(false);
    expect(allowed('POST', `v3/rooms/${e(guest.roomId)}/kick`)).toBe(false);
    expect(allowed('PUT', `v3/rooms/${e(guest.roomId)}/send/m.room.message/t`)).toBe(false);
    expect(allowed('PUT', `v3/profile/${e(guest.userId)}/displayname`)).toBe(false);
    expect(allowed('PUT', `v3/rooms/${e(guest.roomId)}/state/m.room.member/${e(guest.userId)}`)).toBe(false);
    expect(
      allowed('PUT', `v3/rooms/${e(guest.roomId)}/state/org.matrix.msc3401.call.member/_@alice:a.example_D_m.call`),
    ).toBe(false);
    expect(allowed('PUT', 'v3/sendToDevice/io.element.call.encryption_keys/t')).toBe(false);
    expect(allowed('POST', `v3/user/${e('@alice:a.example')}/openid/request_token`)).toBe(false);
    expect(allowed('POST', 'v3/account/deactivate')).toBe(false);
    expect(allowed('POST', 'v3/account/password')).toBe(false);
    expect(allowed('GET', 'v3/rooms/%E0%A4%A/members')).toBe(false);
    expect(allowed('DELETE', `v3/rooms/${e(guest.roomId)}/state/m.room.name/`)).toBe(false);
  });
});
