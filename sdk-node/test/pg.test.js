// Enqueue in the application's own Postgres transaction (lib/pg.js, `client.enqueue(..., { client })`)
// with node-postgres against the real database and a real worker serving Node tasks: a
// rolled-back enqueue runs nothing, a committed one runs and its result is read back, a unique
// id enqueued twice is one task, and a refused option is pg's error inside the transaction.
// Needs STEM_BIN, STEM_TEST_POSTGRES_URL and pg (a dev dependency, installed by test.sh); skips
// without them, except with CI=true, where it fails.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Client, pg } = require('..');

const URL = process.env.STEM_TEST_POSTGRES_URL;
const BIN = process.env.STEM_BIN;
let driver = null;
try {
  driver = require('pg');
} catch (e) {
  driver = null;
}
const why = (!BIN && 'STEM_BIN is not set') || (!URL && 'STEM_TEST_POSTGRES_URL is not set') || (!driver && 'pg is not installed (npm install in sdk-node)');
if (why && process.env.CI === 'true') throw new Error(`the Postgres SDK tests cannot run under CI: ${why}`);
const skip = why || false;

const namespace = `sdknode_${crypto.randomBytes(6).toString('hex')}`;
const schema = pg.schemaName(namespace);
let dir;
let worker;
let stem;

before(() => {
  if (skip) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stem-pg-test-'));
  fs.writeFileSync(path.join(dir, 'stem.toml'), `[runtimes.node]
command = [${JSON.stringify(process.execPath)}, ${JSON.stringify(path.join(__dirname, '..', 'fixtures', 'vector-tasks.js'))}]
soft_signal = "SIGUSR2"

[tasks.add]
runtime = "node"
`);
  const env = { ...process.env, STEM_BROKER_URL: URL, STEM_RESULT_BACKEND_URL: URL, STEM_NAMESPACE: namespace };
  execFileSync(BIN, ['migrate'], { env, cwd: dir, stdio: 'pipe' });
  worker = spawn(BIN, ['worker', '--manifest', path.join(dir, 'stem.toml'), '--concurrency', '2'], { env, cwd: dir, stdio: 'ignore' });
  stem = new Client({ broker: URL, backend: URL, cwd: dir, env: { STEM_NAMESPACE: namespace } });
});

after(async () => {
  if (skip) return;
  worker.kill('SIGTERM');
  await new Promise((resolve) => (worker.exitCode !== null ? resolve() : worker.once('exit', resolve)));
  const db = new driver.Client({ connectionString: URL });
  await db.connect();
  await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await db.end();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function connected(fn) {
  const db = new driver.Client({ connectionString: URL });
  await db.connect();
  try {
    return await fn(db);
  } finally {
    await db.end();
  }
}

test('schema names follow the worker; a bad schema or client is refused before any query', { skip }, async () => {
  assert.equal(pg.schemaName('My-App.v2'), 'my_app_v2');
  assert.equal(pg.schemaName('1x'), 'stem_1x');
  await assert.rejects(pg.enqueue({ query() {} }, 'add', [], { schema: 'x; DROP TABLE t' }), RangeError);
  await assert.rejects(pg.enqueue({}, 'add', [], { schema }), /client must be a pg Client/);
});

test('a rolled-back enqueue runs nothing; a committed one runs once', { skip }, async () => {
  const ids = await connected(async (db) => {
    await db.query('BEGIN');
    await pg.enqueue(db, 'add', [1, 1], { schema });
    await db.query('ROLLBACK');
    await db.query('BEGIN');
    const one = await pg.enqueue(db, 'add', [2, 3], { schema, priority: 4 });
    const handle = await stem.enqueue('add', [20, 22], { client: db, schema });
    const many = await pg.enqueueMany(db, [['add', [5, 5]], { task: 'add', args: [6, 6] }], { schema });
    await db.query('COMMIT');
    return [one, handle.id, ...many];
  });
  const results = [];
  for (const id of ids) results.push(await stem.result(id).get(60));
  assert.deepEqual(results, [5, 42, 10, 12]);
  await connected(async (db) => {
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM ${schema}.results`);
    assert.equal(rows[0].n, 4, 'only the committed tasks left records');
  });
});

test('a unique id enqueued twice is one task; an unknown option is refused in the transaction', { skip }, async () => {
  const order = `order-${crypto.randomBytes(4).toString('hex')}`;
  await connected(async (db) => {
    await db.query('BEGIN');
    assert.equal(await pg.enqueue(db, 'add', [1, 2], { schema, id: order }), order);
    assert.equal(await pg.enqueue(db, 'add', [7, 7], { schema, id: order }), order);
    await db.query('COMMIT');
    await db.query('BEGIN');
    await assert.rejects(pg.enqueue(db, 'add', [], { schema, maxRetries: 2 }),
      (e) => e.code === '22023' && /enqueue: options\.max_retries: unknown option/.test(e.message));
    await db.query('ROLLBACK');
    await assert.rejects(stem.enqueue('add', [], { client: db, schema, wait: true }), /wait with client/);
  });
  assert.equal(await stem.result(order).get(60), 3);
});
