import { describe, expect, it, vi } from 'vitest';

import { ClientApi } from '../../federation/client-api.ts';
import type { FederationEndpoint } from '../../federation/server-discovery.ts';

/** A ClientApi whose remote server publishes `baseUrl` in its /.well-known/matrix/client. */
function clientApi(baseUrl: unknown, plainHttpServers: string[] = []) {
  const requests: { host: string; port: number; path: string; scheme: string | undefined }[] = [];
  const vetted = vi.fn((serverName: string, host: string, port: number) =>
    Promise.resolve<FederationEndpoint>({ serverName, host, port, addresses: ['203.0.113.7'] }),
  );
  const api = new ClientApi({
    localServer: 'a.example',
    localUrl: 'http://127.0.0.1:1',
    plainHttpServers,
    discovery: { vetted },
    http: {
      requestJson: (ep, path, opts) => {
        requests.push({ host: ep.host, port: ep.port, path, scheme: opts?.scheme });
        return Promise.resolve(
          path === '/.well-known/matrix/client'
            ? { status: 200, body: { 'm.homeserver': { base_url: baseUrl } } }
            : { status: 200, body: {} },
        );
      },
    },
    timeoutMs: 1_000,
  });
  return { api, requests, vetted };
}

describe("a remote user's client-server API (delegated leave)", () => {
  it('is reached over https at the address its server publishes, through the address guard', async () => {
    const { api, requests, vetted } = clientApi('https://matrix.b.example:8443/base/');
    await api.post('@bob:b.example', '/_matrix/x', {});
    expect(vetted).toHaveBeenCalledWith('b.example', 'matrix.b.example', 8443);
    expect(requests.at(-1)).toEqual({ host: 'matrix.b.example', port: 8443, path: '/base/_matrix/x', scheme: 'https' });
  });

  it.each([
    ['plain http', 'http://matrix.b.example', 'insecure_client_api'],
    ['another scheme', 'file:///etc/passwd', 'no_client_api'],
    ['not a URL', 'matrix.b.example', 'no_client_api'],
    ['not a string', { evil: true }, 'no_client_api'],
  ])('refuses a published base URL in %s', async (_what, base, reason) => {
    const { api } = clientApi(base);
    await expect(api.post('@bob:b.example', '/_matrix/x', {})).rejects.toMatchObject({ reason });
  });

  it('allows plain http only for a local test federation (private_address_servers)', async () => {
    const { api, requests } = clientApi('http://127.0.0.1:8492', ['b.example']);
    await api.post('@bob:b.example', '/_matrix/x', {});
    expect(requests.at(-1)).toMatchObject({ scheme: 'http', port: 8492 });
  });

  it('a base URL ending in a long run of slashes costs nothing (no backtracking), and an overlong one is refused', async () => {
    const { api, requests } = clientApi(`https://matrix.b.example/${'/'.repeat(2_000)}`);
    const started = performance.now();
    await api.post('@bob:b.example', '/_matrix/x', {});
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(requests.at(-1)?.path).toBe('/_matrix/x');
    const { api: long } = clientApi(`https://matrix.b.example/${'/'.repeat(64_000)}`);
    await expect(long.post('@bob:b.example', '/_matrix/x', {})).rejects.toMatchObject({ reason: 'no_client_api' });
  });
});
