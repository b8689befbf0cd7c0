/**
 * Request ids: a proxy's plain id is kept, anything else replaced; log lines written while handling
 * a request name it; outgoing federation calls carry it.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

import { describe, expect, it } from 'vitest';

import { createLogger } from '../../core/log.ts';
import { currentRequestId, requestIdFrom, withRequestId } from '../../core/request-context.ts';
import { FederationHttp } from '../../federation/federation-http.ts';

describe('request ids', () => {
  it('keeps a plain id from the proxy and replaces anything else', () => {
    expect(requestIdFrom('req-42.a_b')).toBe('req-42.a_b');
    for (const bad of [undefined, '', 'a b', 'x"}\n{"level":"error', 'é', 'a'.repeat(65)]) {
      const id = requestIdFrom(bad);
      expect(id).toMatch(/^[0-9a-f]{16}$/);
    }
  });

  it('names the request in every log line written while handling it, and only then', async () => {
    const lines: string[] = [];
    const log = createLogger('test', (l) => lines.push(l), 'debug');
    log.info('outside');
    await withRequestId('req-1', async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      log.info('inside', { room_id: '!r:x' });
    });
    const [outside, inside] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(outside?.['request_id']).toBeUndefined();
    expect(inside).toMatchObject({ event: 'inside', request_id: 'req-1', room_id: '!r:x' });
    expect(currentRequestId()).toBeUndefined();
  });

  it('passes the id on in outgoing federation calls', async () => {
    let seen: IncomingHttpHeaders | undefined;
    const server = createServer((req, res) => {
      seen = req.headers;
      res.setHeader('content-type', 'application/json');
      res.end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const http = new FederationHttp({ timeoutMs: 2_000 });
      const endpoint = { serverName: 'x', host: '127.0.0.1', port, addresses: ['127.0.0.1'] };
      await withRequestId('req-fed', () =>
        http.requestJson(endpoint, '/_matrix/federation/v1/version', { scheme: 'http' }),
      );
      expect(seen?.['x-request-id']).toBe('req-fed');
      await http.requestJson(endpoint, '/_matrix/federation/v1/version', { scheme: 'http' });
      expect(seen?.['x-request-id']).toBeUndefined();
    } finally {
      server.close();
    }
  });
});
