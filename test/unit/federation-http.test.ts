/**
 * Requests to other homeservers against real local HTTPS servers (a throwaway certificate made with
 * openssl): answers are capped, stalls time out, untrusted certificates and redirects count for
 * nothing.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ApiError } from '../../core/errors.ts';
import { FederationHttp } from '../../federation/federation-http.ts';
import { selfSignedCertificate } from '../../scripts/stack/synapse.ts';
import type { FederationEndpoint } from '../../federation/server-discovery.ts';

let dir: string;
let key: string;
let cert: string;
const servers: Server[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'causerie-fedtest-'));
  selfSignedCertificate(join(dir, 'key.pem'), join(dir, 'cert.pem'), 1);
  key = readFileSync(join(dir, 'key.pem'), 'utf8');
  cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
  writeFileSync(join(dir, 'ca.pem'), cert);
});

afterAll(() => {
  for (const s of servers) s.close();
  rmSync(dir, { recursive: true, force: true });
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<FederationEndpoint> {
  const server = createServer({ key, cert }, handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { serverName: `localhost:${port}`, host: 'localhost', port, addresses: ['127.0.0.1'] };
}

const trusting = (timeoutMs = 2_000) => new FederationHttp({ timeoutMs, caFile: join(dir, 'ca.pem') });

describe('requests to other homeservers', () => {
  it('reads an answer from a server whose certificate is trusted', async () => {
    const ep = await serve((_req, res) => res.end('{"sub":"@u:localhost"}'));
    await expect(trusting().getJson(ep, '/x')).resolves.toEqual({ status: 200, body: { sub: '@u:localhost' } });
  });

  it('refuses a certificate nobody vouches for (502), never reading the answer', async () => {
    const ep = await serve((_req, res) => res.end('{"sub":"@u:localhost"}'));
    const err = await new FederationHttp({ timeoutMs: 2_000 }).getJson(ep, '/x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 502, reason: 'homeserver_unreachable' });
  });

  it('stops reading an answer past 64 KiB (502)', async () => {
    const ep = await serve((_req, res) => {
      res.write(`{"pad":"${'x'.repeat(200_000)}`);
      res.end('"}');
    });
    await expect(trusting().getJson(ep, '/x')).rejects.toMatchObject({
      status: 502,
      reason: 'homeserver_bad_response',
    });
  });

  it('a server that accepts and never answers times out (504)', async () => {
    const ep = await serve(() => undefined);
    await expect(trusting(500).getJson(ep, '/x')).rejects.toMatchObject({ status: 504, reason: 'homeserver_timeout' });
  });

  it('a server that starts answering and stalls times out too (504)', async () => {
    const ep = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"sub":');
    });
    await expect(trusting(500).getJson(ep, '/x')).rejects.toMatchObject({ status: 504 });
  });

  it('connects only to the vetted address, whatever the host name resolves to', async () => {
    const ep = await serve((_req, res) => res.end('{}'));
    // "localhost" would resolve to 127.0.0.1, but the vetted address list says otherwise: no connection.
    const elsewhere = { ...ep, addresses: ['127.0.0.2'] };
    await expect(trusting(1_000).getJson(elsewhere, '/x')).rejects.toBeInstanceOf(ApiError);
  });

  it('a redirected /.well-known/matrix/server counts as no delegation', async () => {
    const ep = await serve((_req, res) => {
      res.writeHead(302, { location: 'https://169.254.169.254/' });
      res.end();
    });
    await expect(trusting().wellKnown(ep)).resolves.toBeUndefined();
  });
});
