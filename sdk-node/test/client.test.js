// The producer-side Client's CLI fallback: its command lines and error handling against a
// stand-in CLI, and (when STEM_BIN is set) a round trip through the real `stem` binary. The
// HTTP client is tested in http-client.test.js.
'use strict';

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Client, StemCliError } = require('..');

// A stand-in `stem`: echoes its argv as JSON, or fails as STEM_FAKE_MODE says.
const FAKE = `#!${process.execPath}
const mode = process.env.STEM_FAKE_MODE;
if (mode === 'fail') { process.stderr.write('loading config\\nbroker unreachable: connection refused\\n'); process.exit(3); }
if (mode === 'garbage') { process.stdout.write('not json\\n'); process.exit(0); }
process.stdout.write(JSON.stringify({ id: 'fake-id', state: 'pending', argv: process.argv.slice(2) }) + '\\n');
`;

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'stem-client-test-'));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

function fakeStem() {
  const bin = path.join(scratch, 'stem');
  fs.writeFileSync(bin, FAKE, { mode: 0o755 });
  return bin;
}

test('enqueue and result build the documented command lines', async () => {
  const bin = fakeStem();
  const client = new Client({ bin, broker: 'memory://', backend: 'sqlite://r.db' });
  const queued = await client.enqueue('add', [2, 3], { kwargs: { x: 'ü' }, queue: 'math', countdown: 1.5, maxRetries: 2 });
  assert.equal(queued.id, 'fake-id');
  assert.deepEqual(queued.enqueued.argv, [
    'enqueue', 'add', '--args', '[2,3]', '--kwargs', '{"x":"ü"}', '--queue', 'math', '--countdown', '1.5',
    '--max-retries', '2', '--json', '--broker', 'memory://', '--backend', 'sqlite://r.db',
  ]);
  const plain = await new Client({ bin }).enqueue('noop');
  assert.deepEqual(plain.enqueued.argv, ['enqueue', 'noop', '--args', '[]', '--kwargs', '{}', '--json']);
  const result = await new Client({ bin }).info('abc', { wait: 2 });
  assert.deepEqual(result.argv, ['result', 'abc', '--wait', '--timeout', '2.000', '--json']);
});

test('the binary comes from STEM_BIN when no bin is given', async () => {
  const saved = process.env.STEM_BIN;
  process.env.STEM_BIN = fakeStem();
  try {
    assert.equal((await new Client().info('x')).id, 'fake-id');
  } finally {
    if (saved === undefined) delete process.env.STEM_BIN;
    else process.env.STEM_BIN = saved;
  }
});

test('CLI failures reject with StemCliError carrying the reason', async () => {
  const bin = fakeStem();
  const failing = new Client({ bin, env: { ...process.env, STEM_FAKE_MODE: 'fail' } });
  await assert.rejects(failing.enqueue('add', [1, 2]), (err) => {
    assert.ok(err instanceof StemCliError);
    assert.equal(err.message, 'stem enqueue failed: broker unreachable: connection refused');
    assert.equal(err.exitCode, 3);
    return true;
  });
  const garbage = new Client({ bin, env: { ...process.env, STEM_FAKE_MODE: 'garbage' } });
  await assert.rejects(garbage.info('x'), /printed no JSON/);
  const missing = new Client({ bin: path.join(os.tmpdir(), 'no-such-stem-binary') });
  await assert.rejects(missing.info('x'), /stem CLI not found/);
});

test('round trip through the real stem CLI', { skip: process.env.STEM_BIN ? false : 'STEM_BIN is not set' }, async () => {
  const dir = fs.mkdtempSync(path.join(scratch, 'real-'));
  const url = `sqlite://${path.join(dir, 'stem.db')}`;
  const client = new Client({ broker: url, backend: url, cwd: dir });
  const queued = await client.enqueue('add', [2, 3], { queue: 'default' });
  assert.equal(typeof queued.id, 'string');
  const result = await client.info(queued.id);
  assert.equal(result.id, queued.id);
  assert.equal(typeof result.state, 'string');
  // No worker: a wait runs out the same way whether the timeout is a duration or `{ timeout }`.
  for (const shape of [0.2, '200ms', { timeout: 0.2 }]) {
    await assert.rejects(queued.get(shape), (e) => e.name === 'TaskTimeout' && e.id === queued.id, `get(${JSON.stringify(shape)})`);
  }
  await assert.rejects(queued.get({ timeout: 0.2, propagate: false }), { name: 'TaskTimeout' });
});

test('schedule, schedules and unschedule build the documented command lines', async () => {
  const bin = path.join(scratch, 'stem-sched');
  const seen = path.join(scratch, 'seen.toml');
  fs.writeFileSync(bin, `#!${process.execPath}
const fs = require('node:fs');
const argv = process.argv.slice(2);
if (argv[1] === 'apply') fs.copyFileSync(argv[2], ${JSON.stringify(seen)});
if (argv[1] === 'list') { process.stdout.write('[{"id":"x"}]\\n'); process.exit(0); }
process.stdout.write(JSON.stringify({ created: ['x'], argv }) + '\\n');
`, { mode: 0o755 });
  const client = new Client({ bin });
  const done = await client.schedule('x', 'tick', { every: '30s', args: [1, 'a'], kwargs: { k: true }, catchUp: 'all', manifest: 'm.toml' });
  assert.deepEqual(done.created, ['x']);
  assert.deepEqual(done.argv.slice(3), ['--manifest', 'm.toml', '--json']);
  assert.equal(fs.readFileSync(seen, 'utf8'),
    '[schedules."x"]\ntask = "tick"\nevery = "30s"\nargs = [1, "a"]\nkwargs = {"k" = true}\ncatch_up = "all"\n');
  assert.deepEqual(await client.schedules(), [{ id: 'x' }]);
  const gone = await client.unschedule('x');
  assert.deepEqual(gone.argv, ['schedule', 'delete', 'x', '--yes', '--json']);
});

test('durations are one syntax', () => {
  const { seconds } = require('..');
  assert.equal(seconds('500ms'), 0.5);
  assert.equal(seconds('3s'), 3);
  assert.equal(seconds('2m'), 120);
  assert.equal(seconds(1.5), 1.5);
  assert.equal(seconds('2'), 2);
  assert.equal(seconds(undefined), undefined);
  assert.equal(seconds('10 minutes'), 600);
  assert.equal(seconds('1 day'), 86400);
  assert.throws(() => seconds('-3s'), /cannot be negative/);
  for (const bad of ['3 parsecs', 'soon', -1, '-2s']) assert.throws(() => seconds(bad), RangeError);
});

test('big args and an ISO eta through the real stem CLI', { skip: process.env.STEM_BIN ? false : 'STEM_BIN is not set' }, async () => {
  const dir = fs.mkdtempSync(path.join(scratch, 'big-'));
  const url = `sqlite://${path.join(dir, 'stem.db')}`;
  const client = new Client({ broker: url, backend: url, cwd: dir });
  const big = 'x'.repeat(3000000); // more than one command-line argument may hold
  const queued = await client.enqueue('add', [big, 'y']);
  assert.equal(typeof queued.id, 'string');
  const later = await client.enqueue('add', [1, 2], { eta: '2020-01-01T00:00:00Z' });
  assert.equal(typeof later.id, 'string');
  // No worker: the wait gives up after a duration written like every other one.
  await assert.rejects(later.wait('300ms'), (err) => err.name === 'TaskTimeout');
});

test('ids dedup, unique keys and expiry through the real stem CLI', { skip: process.env.STEM_BIN ? false : 'STEM_BIN is not set' }, async () => {
  const dir = fs.mkdtempSync(path.join(scratch, 'unique-'));
  const url = `sqlite://${path.join(dir, 'stem.db')}`;
  const client = new Client({ broker: url, backend: url, cwd: dir });
  const first = await client.enqueue('add', [1, 2], { id: 'job-7' });
  const again = await client.enqueue('add', [1, 2], { id: 'job-7' });
  assert.deepEqual([first.duplicate, again.duplicate, again.id], [false, true, 'job-7']);
  const keyed = await client.enqueue('add', [1], { uniqueKey: 'k', uniqueFor: '1m' });
  const twin = await client.enqueue('add', [2], { unique_key: 'k', unique_for: 60 });
  assert.deepEqual([keyed.duplicate, twin.duplicate, twin.id], [false, true, keyed.id]);
  const soon = await client.enqueue('add', [1, 2], { expires: new Date(Date.now() + 60000) });
  assert.equal(soon.duplicate, false);
});
