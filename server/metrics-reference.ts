/**
 * docs/METRICS.md, generated from the metrics the service registers (server/metrics.ts): name, type,
 * labels and help of each, ours first, then the process and Node.js ones prom-client adds.
 * `npm run docs:metrics` rewrites the file; a test fails when the committed file differs.
 */
import { createMetrics } from './metrics.ts';

export async function metricsReference(): Promise<string> {
  const { registry } = createMetrics({ counts: () => Promise.resolve({ calls: 0, participants: 0 }) });
  const all = await registry.getMetricsAsJSON();
  const ours = all.filter((m) => !m.name.startsWith('causerie_process_') && !m.name.startsWith('causerie_nodejs_'));
  const runtime = all.filter((m) => !ours.includes(m));
  const labels = (m: (typeof all)[number]): string => {
    const names = new Set<string>();
    for (const v of m.values) for (const k of Object.keys(v.labels)) if (k !== 'le') names.add(k);
    const declared =
      (registry.getSingleMetric(m.name) as unknown as { labelNames?: string[] } | undefined)?.labelNames ?? [];
    for (const k of declared) names.add(k);
    return [...names].map((n) => `\`${n}\``).join(', ');
  };
  const row = (m: (typeof all)[number]): string =>
    `| \`${m.name}\` | ${String(m.type)} | ${labels(m)} | ${m.help.replace(/\|/g, '\\|')} |`;
  return `${[
    '# Metrics',
    '',
    'What `GET /metrics` exposes (Prometheus text format; turned off or behind a bearer token with',
    '`metrics.enabled` / `metrics.bearer_token`). Generated from `server/metrics.ts` by',
    '`npm run docs:metrics`; do not edit by hand. `deploy/grafana-dashboard.json` charts them.',
    '',
    '## Causerie',
    '',
    '| metric | type | labels | what it counts |',
    '| ------ | ---- | ------ | -------------- |',
    ...ours.map(row),
    '',
    '## Process and Node.js',
    '',
    '| metric | type | labels | what it counts |',
    '| ------ | ---- | ------ | -------------- |',
    ...runtime.map(row),
  ].join('\n')}\n`;
}

if (process.argv[1]?.endsWith('metrics-reference.ts') === true) {
  const { writeFileSync } = await import('node:fs');
  const { fileURLToPath } = await import('node:url');
  writeFileSync(fileURLToPath(new URL('../docs/METRICS.md', import.meta.url)), await metricsReference());
}
