import type { AddressInfo } from 'node:net';

import { describe, expect, it } from 'vitest';

import { createHttpApp } from '../../server/http.ts';
import { createMetrics, metricsRoutes, type MetricsAccess } from '../../server/metrics.ts';

const TOKEN = 'scrape-token-0123456789';

async function scrape(access: MetricsAccess, authorization?: string) {
  const db = { query: <T>() => Promise.resolve([{ n: '0' }] as T[]) };
  const app = createHttpApp({
    db,
    routers: [metricsRoutes(createMetrics({ counts: () => Promise.resolve({ calls: 0, participants: 0 }) }), access)],
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const port = (server.address() as AddressInfo).port;
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, {
      headers: authorization === undefined ? {} : { authorization },
    });
    return { status: res.status, headers: res.headers, text: await res.text() };
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('GET /metrics access', () => {
  it('without a bearer token configured, serves the metrics to anyone', async () => {
    const res = await scrape({ enabled: true });
    expect(res.status).toBe(200);
    expect(res.text).toContain('causerie_calls_active 0');
  });

  it('with a bearer token configured, serves the metrics to a scraper that presents it', async () => {
    for (const header of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`]) {
      const res = await scrape({ enabled: true, bearerToken: TOKEN }, header);
      expect(res.status).toBe(200);
      expect(res.text).toContain('causerie_token_decisions_total');
    }
  });

  it.each([
    ['no Authorization header', undefined],
    ['an empty bearer token', 'Bearer '],
    ['a wrong token of the same length', `Bearer ${TOKEN.slice(0, -1)}X`],
    ['a prefix of the token', `Bearer ${TOKEN.slice(0, 8)}`],
    ['the token with extra characters', `Bearer ${TOKEN}0`],
    ['the token under another scheme', `Basic ${TOKEN}`],
    ['the bare token', TOKEN],
  ])('with a bearer token configured, refuses %s with 401 M_UNAUTHORIZED', async (_what, header) => {
    const res = await scrape({ enabled: true, bearerToken: TOKEN }, header);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(JSON.parse(res.text)).toMatchObject({ errcode: 'M_UNAUTHORIZED', error: expect.any(String) as string });
    expect(res.text).not.toContain('causerie_');
  });

  it('when disabled, /metrics answers 404 M_UNRECOGNIZED like any unknown path, token or not', async () => {
    for (const access of [{ enabled: false }, { enabled: false, bearerToken: TOKEN }]) {
      const res = await scrape(access, `Bearer ${TOKEN}`);
      expect(res.status).toBe(404);
      expect(JSON.parse(res.text)).toEqual({
        errcode: 'M_UNRECOGNIZED',
        error: 'Unrecognized request',
        reason: 'unrecognized',
      });
    }
  });
});
