// Fairness keys from the producer: fairKey / fairWeight (or fair_key / fair_weight) checked
// before sending, put on the CLI's command line, refused by pg and canvas signatures (neither
// has such fields), and — when STEM_BIN is set — sent over each transport (HTTP, the CLI one by
// one and on stdin, batches too) to a real `stem serve` and read back from the queue's listing
// (GET /v1/queues/{q}/tasks). No worker consumes the queue, so the tasks stay to be read.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const { Client, ApiError, StemCliError, signature, pg } = require('..');
const { taskSpec, asSpec } = require('../lib/spec');
const { CliTransport } = require('../lib/cli');
const { HttpTransport } = require('../lib/http');

const BIN = process.env.STEM_BIN;
const skip = BIN ? false : 'STEM_BIN is not set: the round trips need the stem binary';
const TASKS = path.join(__dirname, '..', 'fixtures', 'vector-tasks.js');

test('bad fairness fields are refused naming the field', async () => {
  const cases = [
    [{ fairKey: '' }, RangeError, /task 'echo': fairKey must be 1 to 256 bytes of UTF-8, got 0/],
    [{ fair_key: 'é'.repeat(129) }, RangeError, /task 'echo': fairKey must be 1 to 256 bytes of UTF-8, got 258/],
    [{ fairKey: 7 }, TypeError, /task 'echo': fairKey must be a string, got 7/],
    [{ fairKey: '\ud800' }, RangeError, /task 'echo': fairKey is not valid UTF-8/],
    [{ fairKey: 't', fairWeight: 0 }, RangeError, /task 'echo': fairWeight must be from 1 to 100, got 0/],
    [{ fairKey: 't', fair_weight: 101 }, RangeError, /fairWeight must be from 1 to 100, got 101/],
    [{ fairKey: 't', fairWeight: 2.5 }, TypeError, /fairWeight must be an integer from 1 to 100, got 2.5/],
    [{ fairKey: 't', fairWeight: '3' }, TypeError, /fairWeight must be an integer from 1 to 100, got "3"/],
  ];
  const client = new Client({ bin: '/nonexistent/stem' });
  for (const [options, kind, said] of cases) {
    assert.throws(() => taskSpec('echo', [], options), (err) => err instanceof kind && said.test(err.message));
    await assert.rejects(client.enqueue('echo', [], options), kind);
  }
  // A spec object is checked too, named as it spells the field.
  assert.throws(() => asSpec({ task: 'echo', fair_key: '' }), /task 'echo': fair_key must be 1 to 256 bytes/);
  assert.throws(() => asSpec({ task: 'echo', fair_key: 't', fair_weight: 0 }), /task 'echo': fair_weight must be from 1 to 100/);
  await assert.rejects(client.enqueueMany([{ task: 'echo', fair_weight: 200 }]), RangeError);
});

test('good fairness fields are sent as given, camelCase or snake_case', () => {
  const key = 'é'.repeat(128); // 256 bytes: the most a key may be
  assert.deepEqual(taskSpec('echo', [], { fairKey: key, fairWeight: 100 }), { task: 'echo', args: [], kwargs: {}, fair_key: key, fair_weight: 100 });
  assert.deepEqual(taskSpec('echo', [], { fair_key: 't', fair_weight: 1 }), { task: 'echo', args: [], kwargs: {}, fair_key: 't', fair_weight: 1 });
  // A weight alone is the server's to judge: the manifest's fair_key path may give the key.
  assert.deepEqual(taskSpec('echo', [], { fairWeight: 3 }), { task: 'echo', args: [], kwargs: {}, fair_weight: 3 });
  assert.equal('fair_key' in taskSpec('echo'), false);
});

test('the CLI command line carries the key and weight', () => {
  const argv = new CliTransport({ bin: 'stem' }).enqueueArgv(taskSpec('echo', [1], { fairKey: '-tenant a', fairWeight: 7 }));
  assert.ok(argv.includes('--fair-key=-tenant a') && argv.includes('--fair-weight=7'), argv.join(' '));
});

test('pg and canvas signatures refuse fairness fields rather than drop them', async () => {
  const db = { query: async () => assert.fail('nothing may be sent') };
  await assert.rejects(pg.enqueue(db, 'echo', [], { fairKey: 't', schema: 'stem' }),
    (err) => err instanceof TypeError && /^enqueue: fair_key: enqueue from SQL takes no fairness key/.test(err.message));
  await assert.rejects(new Client({ bin: '/nonexistent/stem' }).enqueue('echo', [], { client: db, fairKey: 't', fairWeight: 2 }),
    /^TypeError: enqueue: fair_key: /);
  await assert.rejects(pg.enqueueMany(db, [['echo', []], { task: 'echo', fair_weight: 2 }], { schema: 'stem' }),
    /^TypeError: enqueueMany\[1\]: fair_weight: /);
  assert.throws(() => signature('echo', [], { fairKey: 't' }), /signature echo: fairKey is not a canvas option/);
  assert.throws(() => signature('echo', [], { fair_weight: 2 }), /signature echo: fair_weight is not a canvas option/);
});

// Round trips through a real stem serve.

let dir;
let db;
let url;
let server;

before(async () => {
  if (!BIN) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stem-fair-test-'));
  fs.writeFileSync(path.join(dir, 'stem.toml'), [
    '[runtimes.node]', `command = [${JSON.stringify(process.execPath)}, ${JSON.stringify(TASKS)}]`, '',
    '[tasks.echo]', 'runtime = "node"', '',
  ].join('\n'));
  db = `sqlite://${path.join(dir, 'stem.db')}`;
  const env = { ...process.env, STEM_BROKER_URL: db, STEM_RESULT_BACKEND_URL: db };
  delete env.STEM_API_TOKENS;
  server = spawn(BIN, ['serve', '--listen', '127.0.0.1:0', '--manifest', path.join(dir, 'stem.toml')], { env, cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] });
  url = await new Promise((resolve, reject) => {
    readline.createInterface({ input: server.stdout }).on('line', (line) => {
      const m = /listening on (\S+)/.exec(line);
      if (m) resolve(m[1]);
    });
    server.once('exit', (code) => reject(new Error(`stem serve exited ${code}`)));
  });
});

after(async () => {
  if (server && server.exitCode === null) {
    await new Promise((resolve) => {
      server.once('exit', resolve);
      server.kill('SIGTERM');
    });
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** The fairness fields of every task waiting in `queue`, by task id. */
async function listed(queue) {
  const reply = await new HttpTransport(url, undefined, 30).request('GET', `/v1/queues/${queue}/tasks?limit=1000`);
  return Object.fromEntries(reply.tasks.map((t) => [t.id, [t.fair_key, t.fair_weight]]));
}

const aQueue = () => `fair-${crypto.randomBytes(4).toString('hex')}`;

test('over HTTP, one by one and in a batch', { skip }, async () => {
  const queue = aQueue();
  const client = new Client({ url });
  const one = await client.enqueue('echo', [1], { queue, fairKey: 'tenant-a', fairWeight: 3 });
  const snake = await client.enqueue('echo', [2], { queue, fair_key: 'tenant-ü', fair_weight: 100 });
  const plain = await client.enqueue('echo', [3], { queue });
  const batch = await client.enqueueMany([['echo', [4], { queue, fairKey: 'tenant-b' }], { task: 'echo', queue, fair_key: 'tenant-c', fair_weight: 2 }]);
  assert.deepEqual(await listed(queue), {
    [one.id]: ['tenant-a', 3], [snake.id]: ['tenant-ü', 100], [plain.id]: [null, null],
    [batch[0].id]: ['tenant-b', null], [batch[1].id]: ['tenant-c', 2],
  });
});

test('over the CLI, one by one, on stdin and in a batch', { skip }, async () => {
  const queue = aQueue();
  const client = new Client({ broker: db, backend: db, cwd: dir });
  const one = await client.enqueue('echo', [1], { queue, fairKey: '-tenant a', fairWeight: 4 });
  const big = await client.enqueue('echo', ['x'.repeat(70000)], { queue, fairKey: 'tenant-big', fairWeight: 2 });
  const batch = await client.enqueueMany([['echo', [], { queue, fairKey: 'tenant-b' }], { task: 'echo', queue, fair_key: 'tenant-c', fair_weight: 9 }]);
  assert.deepEqual(await listed(queue), {
    [one.id]: ['-tenant a', 4], [big.id]: ['tenant-big', 2], [batch[0].id]: ['tenant-b', null], [batch[1].id]: ['tenant-c', 9],
  });
});

test('a weight without a key is refused by the server naming fair_weight', { skip }, async () => {
  await assert.rejects(new Client({ url }).enqueue('echo', [], { queue: aQueue(), fairWeight: 2 }),
    (err) => err instanceof ApiError && err.status === 400 && /fair_weight/.test(err.detail));
  await assert.rejects(new Client({ broker: db, backend: db, cwd: dir }).enqueue('echo', [], { queue: aQueue(), fairWeight: 2 }),
    (err) => err instanceof StemCliError && /fair_weight/.test(err.message));
});
