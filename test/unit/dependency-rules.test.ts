/**
 * The import rules of .dependency-cruiser.cjs catch what they are for: run on a small tree with a
 * wrong-way import, a cycle and a tool importing a test, they report each one; on the project's own
 * tree (checked in CI by `npm run deps:check`) they report nothing.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { cruise, type ICruiseResult, type IConfiguration } from 'dependency-cruiser';
import { afterAll, describe, expect, it } from 'vitest';

const rules = createRequire(import.meta.url)('../../.dependency-cruiser.cjs') as IConfiguration;
const dirs: string[] = [];

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function violations(files: Record<string, string>): Promise<string[]> {
  const root = mkdtempSync(join(tmpdir(), 'causerie-deps-'));
  dirs.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, dirname(path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  const cwd = process.cwd();
  process.chdir(root);
  try {
    const result = await cruise(
      Object.keys(files).map((f) => f.split('/')[0] ?? f),
      {
        validate: true,
        ruleSet: { forbidden: rules.forbidden ?? [] },
        tsPreCompilationDeps: true,
        enhancedResolveOptions: { extensions: ['.ts'] },
      },
    );
    const output = result.output as ICruiseResult;
    return output.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`);
  } finally {
    process.chdir(cwd);
  }
}

describe('the import rules', () => {
  it('report an appservice module importing the server, and the cycle it makes', async () => {
    const found = await violations({
      'appservice/a.ts': "import { b } from '../server/b.ts';\nexport const a = () => b;\n",
      'server/b.ts': "import { a } from '../appservice/a.ts';\nexport const b = () => a;\n",
    });
    expect(found).toEqual(
      expect.arrayContaining([
        'appservice-imports-only-below: appservice/a.ts → server/b.ts',
        'server-imports-only-below: server/b.ts → appservice/a.ts',
        expect.stringMatching(/^no-cycle: /) as unknown,
      ]),
    );
  });

  it('report the shared core importing a side, a tool importing a test, the widget importing the server', async () => {
    const found = await violations({
      'core/model.ts': "import { x } from '../appservice/x.ts';\nexport const m = x;\n",
      'appservice/x.ts': 'export const x = 1;\n',
      'bench/run.ts': "import { h } from '../test/harness.ts';\nexport const r = h;\n",
      'test/harness.ts': 'export const h = 1;\n',
      'widget/app.ts': "import { t } from '../server/token.ts';\nexport const w = t;\n",
      'server/token.ts': 'export const t = 1;\n',
    });
    expect(found).toEqual(
      expect.arrayContaining([
        'core-imports-only-below: core/model.ts → appservice/x.ts',
        'tools-do-not-import-tests: bench/run.ts → test/harness.ts',
        'widget-stands-alone: widget/app.ts → server/token.ts',
      ]),
    );
  });

  it('allow the layers below, and the widget taking the token wire types', async () => {
    const found = await violations({
      'core/token-wire.ts': 'export interface TokenAnswer { url: string; jwt: string }\n',
      'core/errors.ts': 'export const e = 1;\n',
      'livekit/rooms.ts': "import { e } from '../core/errors.ts';\nexport const r = e;\n",
      'server/api.ts': "import { r } from '../livekit/rooms.ts';\nexport const s = r;\n",
      'widget/client.ts':
        "import type { TokenAnswer } from '../core/token-wire.ts';\nexport const parse = (x: unknown) => x as TokenAnswer;\n",
    });
    expect(found).toEqual([]);
  });
});
