/**
 * A token request's id (the proxy's `X-Request-Id`) is echoed in the answer and names the service's
 * log line about it, so an admin can follow one request.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { openIdToken } from '../../scripts/stack/clients/calls.ts';
import { stackEnv, stackFetch } from '../../scripts/stack/clients/env.ts';
import { createRoom, eventually, registerUser } from '../../scripts/stack/clients/matrix.ts';
import { logDir } from '../../scripts/stack/layout.ts';

describe('request ids', () => {
  it('are echoed in the answer and name the log line of the decision', async () => {
    const bob = await registerUser('b');
    const roomId = await createRoom(bob); // the bot is not in it: refused, logged at info
    const id = `req-${Date.now().toString(36)}`;
    const res = await stackFetch(`${stackEnv().service.url}/sfu/get`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': id },
      body: JSON.stringify({ room: roomId, openid_token: await openIdToken(bob), device_id: bob.deviceId }),
    });
    expect(res.headers.get('x-request-id')).toBe(id);
    expect(res.status).toBeGreaterThanOrEqual(400);
    const line = await eventually('the log line naming the request', () =>
      Promise.resolve(
        readFileSync(join(logDir, 'service.log'), 'utf8')
          .split('\n')
          .find((l) => l.includes(`"request_id":"${id}"`)),
      ),
    );
    expect(JSON.parse(line)).toMatchObject({ event: 'token_refused', request_id: id });
    // A made-up id that is not a plain token is replaced, not written.
    const odd = await stackFetch(`${stackEnv().service.url}/healthz`, { headers: { 'x-request-id': 'a"b' } });
    expect(odd.headers.get('x-request-id')).toMatch(/^[0-9a-f]{16}$/);
  });
});
