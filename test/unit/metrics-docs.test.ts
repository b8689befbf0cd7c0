/**
 * The metrics reference and the Grafana dashboard follow the metrics the service really registers:
 * docs/METRICS.md is what `npm run docs:metrics` generates, and every metric a dashboard query
 * names exists.
 */
import { readFileSync } from 'node:fs';

import { format, resolveConfig } from 'prettier';
import { describe, expect, it } from 'vitest';

import { createMetrics } from '../../server/metrics.ts';
import { metricsReference } from '../../server/metrics-reference.ts';

const repoFile = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('metrics documentation', () => {
  it('docs/METRICS.md is up to date (npm run docs:metrics)', async () => {
    const options = (await resolveConfig(new URL('../../docs/METRICS.md', import.meta.url))) ?? {};
    expect(repoFile('docs/METRICS.md')).toBe(
      await format(await metricsReference(), { ...options, parser: 'markdown' }),
    );
  });

  it('every metric the Grafana dashboard queries exists', async () => {
    const { registry } = createMetrics({ counts: () => Promise.resolve({ calls: 0, participants: 0 }) });
    const known = new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
    const dashboard = JSON.parse(repoFile('deploy/grafana-dashboard.json')) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    expect(dashboard.panels.length).toBeGreaterThan(5);
    const named = dashboard.panels.flatMap((p) =>
      p.targets.flatMap((t) =>
        [...t.expr.matchAll(/\bcauserie_[a-z0-9_]+/g)].map((m) => ({ panel: p.title, metric: m[0] })),
      ),
    );
    expect(named.length).toBeGreaterThan(dashboard.panels.length - 1);
    // A histogram is queried through its _bucket, _sum and _count series.
    const missing = named.filter(({ metric }) => !known.has(metric.replace(/_(bucket|sum|count)$/, '')));
    expect(missing).toEqual([]);
  });
});
