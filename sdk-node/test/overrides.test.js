// Per-enqueue overrides from the Node client: timeLimit / softTimeLimit (seconds or text, may
// only lower the manifest's) and ignoreResult, in the spec and through a real worker.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { taskSpec } = require('../lib/spec');
const { startWorker } = require('@stem/sdk/testing');

test('the spec carries the overrides', () => {
  const spec = taskSpec('nap', [], { timeLimit: '1m', soft_time_limit: 0.5, ignoreResult: true });
  assert.equal(spec.time_limit, 60);
  assert.equal(spec.soft_time_limit, 0.5);
  assert.equal(spec.ignore_result, true);
  assert.equal('ignore_result' in taskSpec('nap', []), false);
  assert.throws(() => taskSpec('nap', [], { timeLimit: 0 }), /timeLimit must be above 0 seconds/);
  assert.throws(() => taskSpec('nap', [], { ignoreResult: true, wait: true }), /not with ignoreResult/);
  assert.throws(() => taskSpec('nap', [], { ignoreResult: 'yes' }), /ignoreResult must be true or false/);
});

const MANIFEST = `[defaults]
max_retries = 0

[tasks.nap]
exec = ["sleep", "30"]
time_limit = "60s"
`;

test('overrides through a real worker', { skip: process.env.STEM_BIN ? false : 'STEM_BIN is not set', timeout: 120_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stem-node-overrides-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'stem.toml'), MANIFEST);
  const worker = await startWorker({ manifest: path.join(dir, 'stem.toml'), dir: path.join(dir, 'store'), t });
  await assert.rejects(worker.client.enqueue('nap', [], { timeLimit: '2m' }), /an enqueue can only lower it/);
  const nap = await worker.client.enqueue('nap', [], { timeLimit: 1 });
  const record = await nap.wait(60);
  assert.equal(record.state, 'failure');
  assert.equal(record.error.type, 'TimeLimitExceeded');
  assert.match(record.error.message, /time_limit of 1s/);
});
