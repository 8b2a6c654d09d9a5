// The producer over `stem serve`'s HTTP API, against a real server and a real worker on a
// private SQLite file (when STEM_BIN is set): results, a failure's error type, message and
// traceback, batches, revoke, typed API errors and tokens; and index.d.ts checked with
// `tsc --noEmit` against a file using it (when typescript is installed, as test.sh does).
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const { Client, ApiError, TaskFailed, TaskTimeout } = require('..');

const BIN = process.env.STEM_BIN;
const skip = BIN ? false : 'STEM_BIN is not set: the HTTP client tests need the stem binary';
const TASKS = path.join(__dirname, '..', 'fixtures', 'vector-tasks.js');

let dir;
let url;
const procs = [];

function stop(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', resolve);
    child.kill('SIGTERM');
  });
}

before(async () => {
  if (!BIN) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stem-http-test-'));
  const manifest = path.join(dir, 'stem.toml');
  fs.writeFileSync(manifest, [
    '[runtimes.node]', `command = [${JSON.stringify(process.execPath)}, ${JSON.stringify(TASKS)}]`, 'isolation = "pool"', '',
    '[tasks.add]', 'runtime = "node"', '', '[tasks.boom]', 'runtime = "node"', 'max_retries = 0', '',
  ].join('\n'));
  const db = `sqlite://${path.join(dir, 'stem.db')}`;
  const env = { ...process.env, STEM_BROKER_URL: db, STEM_RESULT_BACKEND_URL: db, STEM_API_TOKENS: 'admin,peek:read' };
  const server = spawn(BIN, ['serve', '--listen', '127.0.0.1:0', '--manifest', manifest], { env, cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] });
  procs.push(server);
  url = await new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: server.stdout });
    lines.on('line', (line) => {
      const m = /listening on (\S+)/.exec(line);
      if (m) resolve(m[1]);
    });
    server.once('exit', (code) => reject(new Error(`stem serve exited ${code}`)));
  });
  procs.push(spawn(BIN, ['worker', '--manifest', manifest, '--concurrency', '4'], { env, cwd: dir, stdio: 'ignore' }));
});

after(async () => {
  await Promise.all(procs.map(stop));
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('enqueue, await, enqueueMany', { skip }, async () => {
  const client = new Client({ url, token: 'admin' });
  assert.equal(await (await client.enqueue('add', [2, 3])).get(60), 5);
  const waited = await client.enqueue('add', [4, 4], { wait: true, timeout: 60, priority: 3, headers: { h: '1' } });
  assert.equal(await waited.get(), 8);
  const later = await client.enqueue('add', [1, 1], { countdown: '200ms' });
  assert.equal(await later.get(60), 2);
  const at = await client.enqueue('add', [2, 2], { eta: new Date() });
  assert.equal(await at.get(60), 4);
  const many = await client.enqueueMany([...Array(150).keys()].map((i) => ['add', [i, i]]).concat([{ task: 'add', args: [5, 5] }]), { batchSize: 100 });
  assert.equal(many.length, 151);
  assert.deepEqual(await Promise.all(many.slice(-2).map((r) => r.get(60))), [298, 10]);
});

test('a failure rejects with TaskFailed carrying the task error', { skip }, async () => {
  const client = new Client({ url, token: 'admin' });
  const failing = await client.enqueue('boom', ['disk on fire']);
  await assert.rejects(failing.get(60), (err) => {
    assert.ok(err instanceof TaskFailed);
    assert.equal(err.state, 'failure');
    assert.equal(err.taskMessage, 'disk on fire');
    assert.equal(err.errorType, 'BadInput');
    assert.match(err.traceback, /BadInput/);
    return true;
  });
});

test('revoke, timeouts and typed API errors', { skip }, async () => {
  const client = new Client({ url, token: 'admin' });
  const later = await client.enqueue('add', [1, 2], { countdown: 3600 });
  await assert.rejects(later.get(0.3), TaskTimeout);
  assert.equal((await later.revoke()).revoked, true);
  await assert.rejects(client.enqueue('nope'), (err) => err instanceof ApiError && err.status === 400 && err.code === 'unknown_task');
  await assert.rejects(client.enqueueMany([['add', [1]], { task: 'add', args: { a: 1 } }]),
    (err) => err instanceof ApiError && err.detail === 'tasks[1]: args: expected a JSON array');
  await assert.rejects(new Client({ url, token: 'peek' }).enqueue('add', [1, 2]), (err) => err.status === 403 && err.code === 'forbidden');
  await assert.rejects(new Client({ url, token: 'wrong' }).info('x'), (err) => err.status === 401);
  assert.deepEqual(await new Client({ url, token: 'peek' }).info('never'), { id: 'never', state: 'pending' });
});

const TSC = path.join(__dirname, '..', 'node_modules', 'typescript', 'bin', 'tsc');
test('index.d.ts holds for code using it (tsc --noEmit)', { skip: fs.existsSync(TSC) ? false : 'typescript is not installed (npm install in sdk-node)' }, () => {
  const root = path.join(__dirname, '..');
  execFileSync(process.execPath, [TSC, '--noEmit', '--strict',
    '--target', 'es2022', '--lib', 'es2022,dom', '--module', 'nodenext', path.join(__dirname, 'types-check.ts')], { cwd: root, stdio: 'pipe' });
});

test('a long-poll of a fractional number of seconds is a valid request timeout', async () => {
  const { HttpTransport } = require('../lib/http');
  const closed = await new Promise((resolve) => {
    const server = require('node:net').createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
  // 49.999 s left of a wait: AbortSignal.timeout takes whole milliseconds only.
  await assert.rejects(new HttpTransport(`http://127.0.0.1:${closed}`, undefined, 30).request('GET', '/v1/tasks/x', undefined, 49.99899999999999),
    (err) => /cannot reach the Stem API/.test(err.message) && !/delay/.test(err.message));
});
