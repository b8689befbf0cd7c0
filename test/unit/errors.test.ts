import type { AddressInfo } from 'node:net';

import express from 'express';
import { afterAll, describe, expect, it } from 'vitest';

import { ApiError, errorKinds, forbidden, rateLimited, upstreamFailed } from '../../core/errors.ts';
import { errorResponses } from '../../server/http.ts';

const servers: { close(): void }[] = [];
afterAll(() => {
  for (const s of servers) s.close();
});

/** An app whose one route throws `err`, answered by the service's one error path. */
async function answerTo(err: unknown): Promise<{ status: number; headers: Headers; body: unknown }> {
  const app = express();
  app.get('/x', () => {
    throw err;
  });
  app.use(errorResponses());
  const server = app.listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise((r) => server.once('listening', r));
  const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/x`);
  return { status: res.status, headers: res.headers, body: await res.json() };
}

describe('one error path', () => {
  it.each(Object.entries(errorKinds))('kind %s answers its errcode and status', async (kind, { errcode, status }) => {
    const answer = await answerTo(new ApiError(kind as keyof typeof errorKinds, 'message', { reason: 'why' }));
    expect(answer.status).toBe(status);
    expect(answer.body).toEqual({ errcode, error: 'message', reason: 'why' });
  });

  it('named constructors say what failed: a refusal, an upstream failure, a rate limit with when to retry', async () => {
    expect(await answerTo(forbidden('No', 'banned'))).toMatchObject({ status: 403, body: { reason: 'banned' } });
    expect(await answerTo(upstreamFailed('Down', 'homeserver_unreachable'))).toMatchObject({ status: 502 });
    const limited = await answerTo(rateLimited(1_500));
    expect(limited).toMatchObject({ status: 429, body: { errcode: 'M_LIMIT_EXCEEDED', retry_after_ms: 1_500 } });
    expect(limited.headers.get('retry-after')).toBe('2');
  });

  it('anything else is a bland 500 that says nothing of the cause', async () => {
    const answer = await answerTo(new Error('password=hunter2 at /secret/path'));
    expect(answer.status).toBe(500);
    expect(JSON.stringify(answer.body)).not.toMatch(/hunter2|secret/);
    expect(answer.body).toMatchObject({ errcode: 'M_UNKNOWN' });
  });
});
