import type { AddressInfo } from 'node:net';

import express from 'express';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { HomeserverError } from '../../appservice/homeserver-client.ts';
import { MAX_TRANSIENT_ATTEMPTS, transactionRoutes, type TransactionDeps } from '../../appservice/transactions.ts';
import { createLogger } from '../../core/log.ts';
import { errorResponses } from '../../server/http.ts';

const token = 'hs-token-for-tests-0123456789';
const servers: { close(): void }[] = [];

afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

let lastPort = 0;

async function serve(deps: Partial<TransactionDeps>): Promise<(id: string, events: unknown[]) => Promise<number>> {
  const seen = new Set<string>();
  const app = express();
  app.use(
    transactionRoutes({
      hsToken: token,
      db: {
        query: <R extends object>(sql: string, params?: readonly unknown[]) => {
          const id = String(params?.[0]);
          if (sql.startsWith('SELECT')) return Promise.resolve((seen.has(id) ? [{}] : []) as R[]);
          seen.add(id);
          return Promise.resolve([] as R[]);
        },
      },
      events: { handle: () => Promise.resolve() },
      log: createLogger('test', () => undefined),
      ...deps,
    }),
  );
  // The one error path of the service: what the routes throw becomes the answer.
  app.use(errorResponses());
  const server = app.listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as AddressInfo;
  lastPort = port;
  return async (id, events) => {
    const res = await fetch(`http://127.0.0.1:${port}/_matrix/app/v1/transactions/${id}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events }),
    });
    await res.text();
    return res.status;
  };
}

const ev = (id: string) => ({
  type: 'm.room.member',
  sender: '@a:x.org',
  state_key: '@a:x.org',
  room_id: '!r:x.org',
  event_id: id,
  content: { membership: 'join' },
});

describe('the transaction queue never wedges', () => {
  it('an event whose effect fails for good is skipped (logged, counted) and the transaction acknowledged', async () => {
    const skipped = vi.fn();
    const handled: string[] = [];
    const put = await serve({
      skipped,
      events: {
        handle: (e) => {
          if (e.event_id === '$bad') return Promise.reject(new Error('value too long for type'));
          handled.push(e.event_id ?? '');
          return Promise.resolve();
        },
      },
    });
    expect(await put('1', [ev('$ok1'), ev('$bad'), ev('$ok2')])).toBe(200);
    expect(handled).toEqual(['$ok1', '$ok2']);
    expect(skipped).toHaveBeenCalledWith('effect_failed');
  });

  it('undecodable events are skipped with their reason, the others applied', async () => {
    const skipped = vi.fn();
    const handled: string[] = [];
    const put = await serve({
      skipped,
      events: {
        handle: (e) => {
          handled.push(e.event_id ?? '');
          return Promise.resolve();
        },
      },
    });
    expect(await put('1', [{ ...ev('$a'), content: [] }, 42, ev('$b')])).toBe(200);
    expect(handled).toEqual(['$b']);
    expect(skipped).toHaveBeenCalledTimes(2);
  });

  it(`an event failing transiently holds the transaction, and is skipped after ${MAX_TRANSIENT_ATTEMPTS} attempts`, async () => {
    const held = vi.fn();
    const skipped = vi.fn();
    const put = await serve({
      onHeld: held,
      skipped,
      events: {
        handle: (e) =>
          e.event_id === '$flaky'
            ? Promise.reject(new HomeserverError(502, undefined, 'bad gateway'))
            : Promise.resolve(),
      },
    });
    for (let i = 1; i < MAX_TRANSIENT_ATTEMPTS; i++) expect(await put('7', [ev('$flaky')])).toBe(503);
    expect(held).toHaveBeenLastCalledWith('transient_failure');
    expect(await put('7', [ev('$flaky')])).toBe(200);
    expect(skipped).toHaveBeenCalledWith('transient_failure_repeated');
    expect(held).toHaveBeenLastCalledWith(undefined);
  });

  it('while the database is unreachable the transaction is held for as long as it takes, then re-sent at once', async () => {
    let dbUp = false;
    const retryNow = vi.fn(() => Promise.resolve());
    const held = vi.fn();
    const put = await serve({
      onHeld: held,
      retryNow,
      recovered: () => (dbUp ? Promise.resolve(true) : Promise.reject(new Error('down'))),
      events: {
        handle: () =>
          dbUp
            ? Promise.resolve()
            : Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
      },
    });
    for (let i = 0; i < MAX_TRANSIENT_ATTEMPTS + 2; i++) expect(await put('9', [ev('$x')])).toBe(503);
    expect(held).toHaveBeenLastCalledWith('database_unavailable');
    expect(retryNow).not.toHaveBeenCalled();
    dbUp = true;
    await vi.waitFor(() => {
      expect(retryNow).toHaveBeenCalled();
    }, 15_000);
    expect(await put('9', [ev('$x')])).toBe(200);
  });

  it('a replayed transaction id is acknowledged without being handled again', async () => {
    const handle = vi.fn(() => Promise.resolve());
    const put = await serve({ events: { handle } });
    expect(await put('5', [ev('$a')])).toBe(200);
    expect(await put('5', [ev('$a')])).toBe(200);
    expect(handle).toHaveBeenCalledTimes(1);
  });

  it('the user and room query routes and the ping route authenticate first; the ping body is bounded', async () => {
    await serve({});
    const base = `http://127.0.0.1:${lastPort}/_matrix/app/v1`;
    for (const path of ['/users/%40x%3Ay', '/rooms/%23a%3Ay']) {
      expect((await fetch(`${base}${path}`)).status).toBe(401);
      expect((await fetch(`${base}${path}`, { headers: { authorization: 'Bearer nope' } })).status).toBe(403);
      expect((await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(404);
    }
    const ping = (body: string, auth = token) =>
      fetch(`${base}/ping`, { method: 'POST', headers: { authorization: `Bearer ${auth}` }, body });
    expect((await ping('{}', 'nope')).status).toBe(403);
    expect((await ping('{}')).status).toBe(200);
    expect((await ping(`{"pad":"${'x'.repeat(100_000)}"}`)).status).toBe(413);
  });
});
