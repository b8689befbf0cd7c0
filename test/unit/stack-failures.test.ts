import { describe, expect, it } from 'vitest';

import { StackError, startDetached, waitHealthy } from '../../scripts/stack/processes.ts';

describe('stack start-up failures name the part', () => {
  it('a part whose process dies during start-up fails with its name and its log', async () => {
    const pid = startDetached({
      part: 'test-dies',
      command: 'sh',
      args: ['-c', 'echo boom: missing thing >&2; exit 3'],
    });
    const err = await waitHealthy({
      part: 'test-dies',
      pid,
      timeoutMs: 10_000,
      check: () => Promise.resolve(false),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StackError);
    expect((err as StackError).part).toBe('test-dies');
    expect((err as Error).message).toMatch(/^test-dies: process exited during start-up; log .*test-dies\.log/);
    expect((err as Error).message).toContain('boom: missing thing');
  });

  it('a part that never becomes healthy times out with its name', async () => {
    const err = await waitHealthy({
      part: 'test-silent',
      timeoutMs: 200,
      check: () => Promise.reject(new Error('connection refused')),
    }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^test-silent: not healthy after 0 s \(connection refused\)/);
  });
});
