// What the `stem` CLI tells its user reaches the SDK's user: its `note:` / `warning:` lines
// become `StemWarning` process warnings (a store created in a fresh folder, no live worker on
// the queue; none when a worker runs on an existing store), and a task name the manifest lacks
// is an UnknownTaskError over the CLI and over HTTP alike. Real `stem` binary (STEM_BIN), a
// real worker and a real `stem serve` in temporary folders.
'use strict';

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const { Client, UnknownTaskError, StemCliError, ApiError, StemError, TaskTimeout } = require('..');
const { cliNotes } = require('../lib/cli-notes');

const BIN = process.env.STEM_BIN;
const skip = BIN ? false : 'STEM_BIN is not set: these tests run the real stem binary';
const TASKS = path.join(__dirname, '..', 'fixtures', 'vector-tasks.js');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'stem-notes-test-'));
const procs = [];

// The CLI must find its store and manifest by the folder alone, as a user's would.
const env = { ...process.env };
for (const name of ['STEM_BROKER_URL', 'STEM_RESULT_BACKEND_URL', 'STEM_MANIFEST', 'STEM_API_URL', 'STEM_API_TOKEN']) delete env[name];

function stop(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', resolve);
    child.kill('SIGTERM');
  });
}

after(async () => {
  await Promise.all(procs.map(stop));
  fs.rmSync(scratch, { recursive: true, force: true });
});

/** A fresh folder, with a stem.toml declaring `add` (on the node fixture) when `manifest`. */
function folder(name, manifest) {
  const dir = fs.mkdtempSync(path.join(scratch, `${name}-`));
  if (manifest) {
    fs.writeFileSync(path.join(dir, 'stem.toml'), [
      '[runtimes.node]', `command = [${JSON.stringify(process.execPath)}, ${JSON.stringify(TASKS)}]`, 'isolation = "pool"', '',
      '[tasks.add]', 'runtime = "node"', '',
    ].join('\n'));
  }
  return dir;
}

/** Runs `fn` and resolves to what it resolved to and the StemWarnings emitted meanwhile. */
async function withWarnings(fn) {
  const seen = [];
  const listener = (warning) => {
    if (warning.name === 'StemWarning') seen.push(warning);
  };
  process.on('warning', listener);
  try {
    let value;
    let error;
    try {
      value = await fn();
    } catch (err) {
      error = err;
    }
    // process.emitWarning delivers on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
    return { value, error, warnings: seen };
  } finally {
    process.off('warning', listener);
  }
}

test('note and warning lines are read once each, after their prefix; other stderr is not', () => {
  const stderr = [
    'note: created the embedded store /x/stem.db (workers and producers share a store by its path: run them in one folder, or set STEM_BROKER_URL)',
    'some progress line',
    'note: no live worker consumes queue "default" (no worker is live); waiting anyway',
    'note: no live worker consumes queue "default" (no worker is live); waiting anyway',
    'warning: clock is 3 s off',
    'note: something new',
    'error: timed out waiting for x',
    '  note: indented the same',
  ].join('\n');
  assert.deepEqual(cliNotes(stderr), [
    { message: 'created the embedded store /x/stem.db (workers and producers share a store by its path: run them in one folder, or set STEM_BROKER_URL)', code: 'STEM_STORE_CREATED' },
    { message: 'no live worker consumes queue "default" (no worker is live); waiting anyway', code: 'STEM_NO_LIVE_WORKER' },
    { message: 'clock is 3 s off', code: 'STEM_WARNING' },
    { message: 'something new', code: 'STEM_NOTE' },
    { message: 'indented the same', code: 'STEM_NOTE' },
  ]);
  assert.deepEqual(cliNotes(''), []);
  assert.deepEqual(cliNotes(undefined), []);
});

test('enqueueing into a fresh folder warns that the store was created, once', { skip }, async () => {
  const dir = folder('fresh', false);
  const client = new Client({ cwd: dir, env });
  const first = await withWarnings(() => client.enqueue('add', [1, 2]));
  assert.equal(first.error, undefined);
  assert.equal(typeof first.value.id, 'string');
  const db = fs.realpathSync(path.join(dir, 'stem.db'));
  assert.equal(first.warnings.length, 1, first.warnings.map((w) => w.message).join('\n'));
  assert.equal(first.warnings[0].code, 'STEM_STORE_CREATED');
  assert.ok(first.warnings[0].message.startsWith(`created the embedded store ${db} `), first.warnings[0].message);
  // The store exists now: nothing to say.
  const second = await withWarnings(() => client.enqueue('add', [3, 4]));
  assert.equal(second.error, undefined);
  assert.deepEqual(second.warnings.map((w) => w.message), []);
});

test('waiting on a task no live worker consumes warns at once, then times out', { skip }, async () => {
  const dir = folder('idle', true);
  const client = new Client({ cwd: dir, env });
  await client.enqueue('add', [0, 0]); // the store exists from here on
  const waited = await withWarnings(() => client.enqueue('add', [1, 2], { wait: true, timeout: '500ms' }));
  assert.ok(waited.error instanceof TaskTimeout, String(waited.error));
  assert.match(waited.error.message, / after 0\.5s$/);
  assert.deepEqual(waited.warnings.map((w) => [w.code, w.message]),
    [['STEM_NO_LIVE_WORKER', 'no live worker consumes queue "default" (no worker is live); waiting anyway']]);
});

test('no warning when the store exists and a worker consumes the queue', { skip }, async () => {
  const dir = folder('busy', true);
  const client = new Client({ cwd: dir, env });
  await client.enqueue('add', [0, 0]); // creates the store before the worker opens it
  const worker = spawn(BIN, ['worker', '--concurrency', '2'], { env, cwd: dir, stdio: 'ignore' });
  procs.push(worker);
  // The first task done proves the worker live (its heartbeat is stored before it takes tasks).
  const warmed = await client.enqueue('add', [1, 1], { wait: true, timeout: 60 });
  assert.equal(await warmed.get(), 2);
  const quiet = await withWarnings(async () => {
    const waited = await client.enqueue('add', [2, 3], { wait: true, timeout: 60 });
    const plain = await client.enqueue('add', [4, 5]);
    return [await waited.get(), await plain.get(60)];
  });
  assert.equal(quiet.error, undefined);
  assert.deepEqual(quiet.value, [5, 9]);
  assert.deepEqual(quiet.warnings.map((w) => w.message), []);
  await stop(worker);
});

/** Asserts `err` is the unknown-task refusal of `name`, whatever the transport. */
function assertUnknownTask(err, name) {
  assert.ok(err instanceof UnknownTaskError, `${err && err.name}: ${err && err.message}`);
  assert.ok(err instanceof StemError);
  assert.equal(err.code, 'unknown_task');
  assert.equal(err.task, name);
  assert.match(err.message, new RegExp(`unknown task "${name}"`));
  return true;
}

test('an unknown task is an UnknownTaskError over the CLI (still a StemCliError)', { skip }, async () => {
  const dir = folder('cli-unknown', true);
  const client = new Client({ cwd: dir, env });
  for (const attempt of [
    () => client.enqueue('nope', [1]),
    () => client.enqueue('nope', [1], { wait: true, timeout: 5 }),
    () => client.enqueue('nope', ['x'.repeat(70000)]), // on stdin
    () => client.enqueueMany([['add', [1, 2]], ['nope', []]]),
  ]) {
    await assert.rejects(attempt(), (err) => assertUnknownTask(err, 'nope') && err instanceof StemCliError && err.exitCode === 2);
  }
  // Other CLI failures are not one.
  await assert.rejects(new Client({ cwd: dir, env, broker: 'bogus://nowhere' }).enqueue('add', [1, 2]),
    (err) => err instanceof StemCliError && err.code === undefined && !(err instanceof UnknownTaskError));
});

test('an unknown task is an UnknownTaskError over HTTP (still an ApiError)', { skip }, async () => {
  const dir = folder('http-unknown', true);
  const server = spawn(BIN, ['serve', '--listen', '127.0.0.1:0', '--manifest', path.join(dir, 'stem.toml')],
    { env, cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] });
  procs.push(server);
  const url = await new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: server.stdout });
    lines.on('line', (line) => {
      const m = /listening on (\S+)/.exec(line);
      if (m) resolve(m[1]);
    });
    server.once('exit', (code) => reject(new Error(`stem serve exited ${code} before listening`)));
  });
  const client = new Client({ url });
  for (const attempt of [
    () => client.enqueue('nope', [1]),
    () => client.enqueue('nope', [1], { wait: true, timeout: 5 }),
    () => client.enqueueMany([['add', [1, 2]], ['nope', []]]),
  ]) {
    await assert.rejects(attempt(), (err) => assertUnknownTask(err, 'nope') && err instanceof ApiError && err.status === 400);
  }
  await assert.rejects(client.enqueueMany([['add', [1]], { task: 'add', args: { a: 1 } }]),
    (err) => err instanceof ApiError && err.code === 'invalid_field' && !(err instanceof UnknownTaskError));
  await stop(server);
});

test('UnknownTaskError matches by code, and can be made directly', () => {
  const made = new UnknownTaskError('nope');
  assert.ok(made instanceof UnknownTaskError && made instanceof StemError && made instanceof Error);
  assert.equal(made.name, 'UnknownTaskError');
  assert.equal(made.message, 'unknown task "nope"');
  assert.ok(new ApiError(400, 'unknown_task', 'unknown task "x"') instanceof UnknownTaskError);
  assert.ok(!(new ApiError(400, 'invalid_field', 'x') instanceof UnknownTaskError));
  assert.ok(!(new StemCliError('stem enqueue failed') instanceof UnknownTaskError));
  assert.ok(!({ code: 'unknown_task' } instanceof UnknownTaskError));
});
