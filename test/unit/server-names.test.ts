import { describe, expect, it, vi } from 'vitest';

import { ApiError } from '../../core/errors.ts';
import { createLogger } from '../../core/log.ts';
import { isServerNameListed, serverNameMatches } from '../../core/matrix-ids.ts';
import { TokenService, type TokenServiceDeps } from '../../server/token-service.ts';

describe('server-name list entries', () => {
  it.each(['evil.org', 'EVIL.org', 'evil.org.', 'Evil.Org.', 'evil.org:8448', 'evil.org:443', 'EVIL.ORG.:8448'])(
    'the entry "evil.org" covers %s',
    (name) => {
      expect(serverNameMatches(name, 'evil.org')).toBe(true);
    },
  );

  it.each(['notevil.org', 'evil.org.example', 'sub.evil.org', 'evil.orgx'])(
    'the entry "evil.org" does not cover %s',
    (name) => {
      expect(serverNameMatches(name, 'evil.org')).toBe(false);
    },
  );

  it('an entry is normalised too', () => {
    expect(serverNameMatches('evil.org', 'EVIL.ORG.')).toBe(true);
    expect(serverNameMatches('evil.org:8448', 'Evil.Org:8448')).toBe(true);
  });

  it('an entry with a port covers exactly that port', () => {
    expect(serverNameMatches('evil.org:8448', 'evil.org:8448')).toBe(true);
    expect(serverNameMatches('evil.org:443', 'evil.org:8448')).toBe(false);
    expect(serverNameMatches('evil.org', 'evil.org:8448')).toBe(false);
  });

  it.each([
    ['[2001:DB8::1]', '[2001:db8::1]'],
    ['[2001:db8:0:0:0:0:0:1]', '[2001:db8::1]'],
    ['[2001:db8::1]:8448', '[2001:DB8:0::1]'],
    ['[::ffff:198.51.100.1]', '[::ffff:c633:6401]'],
  ])('the IPv6 literal %s matches the entry %s', (name, entry) => {
    expect(serverNameMatches(name, entry)).toBe(true);
  });

  it('different IPv6 literals do not match', () => {
    expect(serverNameMatches('[2001:db8::2]', '[2001:db8::1]')).toBe(false);
  });

  it('an allow list with partner.org allows partner.org:8448 but not notpartner.org', () => {
    expect(isServerNameListed('partner.org:8448', ['partner.org'])).toBe(true);
    expect(isServerNameListed('notpartner.org', ['partner.org'])).toBe(false);
    expect(isServerNameListed('partner.org', [])).toBe(false);
  });

  it('an invalid name only matches an identical entry', () => {
    expect(serverNameMatches('evil org', 'evil.org')).toBe(false);
    expect(serverNameMatches('Evil Org', 'evil org')).toBe(true);
  });
});

describe('token requests against server-name lists', () => {
  // The lists are checked before the room and OpenID verification, so only what runs up to the
  // verifier is provided, and a verifier that stops there tells "passed the lists" apart from
  // "refused by them".
  const issue = (serverName: string, allow: string[], deny: string[]) => {
    const verify = vi.fn(() =>
      Promise.reject(new ApiError('unauthorized', 'stop', { reason: 'reached_verification' })),
    );
    // The room view (read before verification) has anyone of any server in it.
    const room = { roomId: '!r:a.example', members: new Map(), hasServer: () => true };
    const deps = {
      verifier: { verify },
      rooms: { get: () => Promise.resolve(room), stale: () => undefined },
      databaseAvailable: () => true,
      audit: { record: vi.fn() },
      log: createLogger('test', () => undefined),
    };
    const service = new TokenService(deps as unknown as TokenServiceDeps, {
      livekitUrl: 'ws://lk',
      apiKey: 'k',
      apiSecret: 's'.repeat(32),
      ttlSeconds: 900,
      allowServers: allow,
      denyServers: deny,
      policy: {
        localServer: 'a.example',
        fullAccessServers: ['a.example'],
        remoteUsers: 'publish',
      },
    });
    const result = service
      .issue({
        endpoint: 'sfu_get',
        roomId: '!r:a.example',
        slotId: 'm.call#ROOM',
        openIdToken: { access_token: 't', token_type: 'Bearer', matrix_server_name: serverName, expires_in: 3600 },
        deviceId: 'DEV',
        memberId: undefined,
        claimedUserId: undefined,
        delayedLeave: undefined,
      })
      .catch((e: unknown) => e);
    return { result, verify };
  };

  it.each(['EVIL.org', 'evil.org.', 'evil.org:8448', 'evil.org:443'])(
    'a user of %s is refused by the deny entry "evil.org" before any network call',
    async (serverName) => {
      const { result, verify } = issue(serverName, [], ['evil.org']);
      expect(await result).toMatchObject({ errcode: 'M_FORBIDDEN', reason: 'server_not_allowed' });
      expect(verify).not.toHaveBeenCalled();
    },
  );

  it('a user of partner.org:8448 passes the allow entry "partner.org"; notpartner.org does not', async () => {
    const partner = issue('partner.org:8448', ['partner.org'], []);
    expect(await partner.result).toMatchObject({ reason: 'reached_verification' });
    expect(partner.verify).toHaveBeenCalledTimes(1);
    const other = issue('notpartner.org', ['partner.org'], []);
    expect(await other.result).toMatchObject({ errcode: 'M_FORBIDDEN', reason: 'server_not_allowed' });
    expect(other.verify).not.toHaveBeenCalled();
  });
});
