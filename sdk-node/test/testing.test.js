// @stem/sdk/testing: runTask's recording context (progress, logs, heartbeats, attempt, headers),
// retries and failures as values (with the type chain), the simulated soft limit, lookups by
// name, bad calls, and startWorker's clear error when the worker cannot start.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { task, Retry, Fatal, SoftTimeLimitExceeded } = require('..');
const { runTask, startWorker } = require('@stem/sdk/testing');

class NetworkError extends Error {}

const report = task('testing_report', (ctx, n) => {
  for (let i = 1; i <= n; i += 1) ctx.progress({ current: i, total: n });
  ctx.heartbeat();
  ctx.log(`done ${n}`, 'warning');
  return { attempt: ctx.attempt, left: ctx.retriesLeft, tenant: ctx.headers.tenant, queue: ctx.queue, id: ctx.id, kw: ctx.kwargs };
});

test('the context and what the task reports', async () => {
  const run = await runTask('testing_report', [2], { attempt: 3, retriesLeft: 1, headers: { tenant: 't-1' }, queue: 'q', id: 't-9', kwargs: { a: 1 } });
  assert.equal(run.state, 'success');
  assert.deepEqual(run.value, { attempt: 3, left: 1, tenant: 't-1', queue: 'q', id: 't-9', kw: { a: 1 } });
  assert.deepEqual(run.progress, [{ current: 1, total: 2 }, { current: 2, total: 2 }]);
  assert.deepEqual(run.logs, [['warning', 'done 2']]);
  assert.equal(run.heartbeats, 1);
  assert.equal((await runTask(report, [0])).get().attempt, 1);
});

test('retries and failures are values', async () => {
  const retry = await runTask(() => {
    throw new Retry('later', { countdown: 2.5 });
  });
  assert.ok(retry.retried && retry.retryable);
  assert.equal(retry.countdown, 2.5);
  const fatal = await runTask(async () => {
    throw new Fatal('never');
  });
  assert.ok(fatal.failed && !fatal.retryable);
  const failed = await runTask(() => {
    throw new NetworkError('gone');
  });
  assert.ok(failed.failed && failed.retryable);
  assert.deepEqual(failed.error.types, ['NetworkError', 'Error']);
  assert.throws(() => failed.get(), NetworkError);
  const odd = await runTask(() => () => 1);
  assert.ok(odd.failed);
  assert.match(odd.error.message, /not JSON-serializable/);
});

test('the soft limit is simulated through ctx.signal', async () => {
  const run = await runTask((ctx) => new Promise((resolve) => {
    ctx.signal.addEventListener('abort', () => resolve(ctx.signal.reason instanceof SoftTimeLimitExceeded));
  }), [], { softLimitAfter: 0.05 });
  assert.equal(run.value, true);
});

test('bad calls say what is wrong', async () => {
  await assert.rejects(runTask('testing_nope'), /no task named 'testing_nope' is registered/);
  await assert.rejects(runTask(report, [0], { attempt: 0 }), /attempt must be an integer of at least 1/);
  await assert.rejects(runTask(report, [0], { softLimitAfter: -1 }), /softLimitAfter/);
  await assert.rejects(startWorker({}), /give the manifest/);
});

test('a worker that cannot start says why', { skip: process.env.STEM_BIN ? false : 'STEM_BIN is not set' }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stem-node-testing-'));
  try {
    const manifest = path.join(dir, 'stem.toml');
    fs.writeFileSync(manifest, '[tasks.a]\nexec = ["true"]\nretry_onn = ["E"]\n');
    await assert.rejects(startWorker({ manifest, dir: path.join(dir, 'w') }), /exited \(status 2\) before it was ready[\s\S]*retry_onn/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
