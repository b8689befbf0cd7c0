import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  isTransientDatabaseError,
  jsonParam,
  openDatabase,
  storableText,
  type Database,
} from '../../schema/database.ts';

let db: Database;

beforeAll(async () => {
  db = await openDatabase({ dataDir: 'memory://' });
  await db.exec('CREATE TABLE t (s text, j jsonb)');
}, 60_000);

afterAll(async () => {
  await db.close();
});

describe('text and JSON PostgreSQL cannot store never fail a write', () => {
  it.each([
    ['U+0000', 'a\u0000b', 'a\uFFFDb'],
    ['a lone high surrogate', 'x\ud800y', 'x\uFFFDy'],
    ['a lone low surrogate', 'x\udfffy', 'x\uFFFDy'],
    ['a valid pair', 'x\ud83d\ude00y', 'x😀y'],
  ])('%s in text and in JSON (keys too) is stored as U+FFFD', async (_what, input, stored) => {
    await db.query('DELETE FROM t');
    await db.query('INSERT INTO t (s, j) VALUES ($1, $2::jsonb)', [
      input,
      jsonParam({ [input]: [input, { k: input }] }),
    ]);
    const [row] = await db.query<{ s: string; j: Record<string, unknown> }>('SELECT s, j FROM t');
    expect(row?.s).toBe(stored);
    expect(row?.j).toEqual({ [stored]: [stored, { k: stored }] });
  });

  it('leaves an escaped backslash followed by "u0000" alone', async () => {
    await db.query('DELETE FROM t');
    await db.query('INSERT INTO t (j) VALUES ($1::jsonb)', [jsonParam({ v: '\\u0000 and \\ud800' })]);
    const [row] = await db.query<{ j: { v: string } }>('SELECT j FROM t');
    expect(row?.j.v).toBe('\\u0000 and \\ud800');
  });

  it('storableText is the identity on ordinary text', () => {
    expect(storableText('Élodie — réunion 📞')).toBe('Élodie — réunion 📞');
  });
});

describe('database errors are classified once', () => {
  it.each([
    ['connection refused', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['server shutting down (57P01)', Object.assign(new Error('terminating connection'), { code: '57P01' })],
    ['connection failure (08006)', Object.assign(new Error('connection failure'), { code: '08006' })],
    ['too many connections (53300)', Object.assign(new Error('too many'), { code: '53300' })],
    ['a dropped connection', new Error('Connection terminated unexpectedly')],
    ['a pool timeout', new Error('timeout exceeded when trying to connect')],
  ])('%s is transient', (_what, err) => {
    expect(isTransientDatabaseError(err)).toBe(true);
  });

  it.each([
    ['invalid text (22021)', Object.assign(new Error('invalid byte sequence'), { code: '22021' })],
    ['unique violation (23505)', Object.assign(new Error('duplicate key'), { code: '23505' })],
    ['a syntax error (42601)', Object.assign(new Error('syntax'), { code: '42601' })],
    ['not an error', 'boom'],
  ])('%s is not', (_what, err) => {
    expect(isTransientDatabaseError(err)).toBe(false);
  });
});
