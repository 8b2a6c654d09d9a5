// Pipelining against a real child over real pipes: task lines written ahead of the running task,
// each task answered as it ends (before the next starts), `withdraw` honoured for a task still
// waiting and ignored for one that started or that never came, and limits written ahead
// (`time_limit_ms`) counted from the task's own start. A task waits on a file the test makes,
// so nothing here sleeps and hopes.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Child } = require('../fixtures/harness');

const line = Child.taskLine;

/** Run `body(child, gate)` against a pool child; `gate` is a file path no one has made yet. */
async function withPool(body, script = 'behaviour-tasks.js') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stem-pipeline-'));
  const child = new Child(script, { STEM_ISOLATION: 'pool' });
  try {
    const hello = await child.next();
    assert.equal(hello.type, 'hello');
    assert.equal(hello.pipeline, 32);
    await body(child, path.join(dir, 'go'));
    child.process.stdin.end();
    assert.equal((await child.exited()).code, 0, child.stderr);
    assert.deepEqual(child.lines.filter((text) => text !== ''), [], 'no stdout lines beyond the expected ones');
    assert.doesNotMatch(child.stderr, /ignoring/);
  } finally {
    child.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('process isolation says pipeline too', async () => {
  const child = new Child('vector-tasks.js', { STEM_ISOLATION: 'process' });
  try {
    assert.equal((await child.next()).pipeline, 32);
  } finally {
    child.kill();
  }
});

test('an answer is written before the next task starts', async () => {
  await withPool(async (child, gate) => {
    // One write: both lines arrive together. The second task writes nothing until the file
    // exists, and the file is made only once the first task's answer has been read here.
    child.sendAll([line('a', 'nothing'), line('b', 'wait_for', [gate])]);
    assert.deepEqual(await child.next(), { type: 'result', id: 'a', value: null });
    fs.writeFileSync(gate, '');
    assert.deepEqual(await child.next(), { type: 'result', id: 'b', value: 'released' });
  });
});

test('a withdraw that comes while an earlier task runs is honoured', async () => {
  await withPool(async (child, gate) => {
    child.sendAll([line('a', 'wait_for', [gate, true]), line('b', 'nothing'), line('c', 'signal_state')]);
    assert.deepEqual(await child.next(), { type: 'progress', id: 'a', progress: 'waiting' }); // b, c wait
    await child.sendNow({ type: 'withdraw', id: 'b' });
    await child.sendNow({ type: 'withdraw', id: 'a' }); // too late: a started (ignored, no line)
    fs.writeFileSync(gate, '');
    assert.deepEqual(await child.next(), { type: 'result', id: 'a', value: 'released' });
    assert.deepEqual(await child.next(), { type: 'withdrawn', id: 'b' });
    assert.deepEqual(await child.next(), { type: 'result', id: 'c', value: { aborted: false } });
  });
});

test('a withdraw of nothing waiting is ignored and forgotten', async () => {
  await withPool(async (child) => {
    // Read while no line waits: it names no waiting task, so the same id's line runs later.
    await child.sendNow({ type: 'withdraw', id: 'x' });
    child.task('x', 'nothing');
    assert.deepEqual(await child.next(), { type: 'result', id: 'x', value: null });
    // Noted behind a waiting line, then moot once the lines are done: not kept for later.
    child.sendAll([line('y', 'nothing'), { type: 'withdraw', id: 'z' }]);
    assert.deepEqual(await child.next(), { type: 'result', id: 'y', value: null });
    child.task('z', 'nothing');
    assert.deepEqual(await child.next(), { type: 'result', id: 'z', value: null });
  });
});

test('withdrawn tasks in a row keep their order', async () => {
  await withPool(async (child) => {
    child.sendAll([line('w-1', 'nothing'), line('w-2', 'nothing'), line('w-3', 'nothing'), line('w-4', 'nothing'),
      { type: 'withdraw', id: 'w-3' }, { type: 'withdraw', id: 'w-2' }]);
    assert.deepEqual(await child.next(), { type: 'result', id: 'w-1', value: null });
    assert.deepEqual(await child.next(), { type: 'withdrawn', id: 'w-2' });
    assert.deepEqual(await child.next(), { type: 'withdrawn', id: 'w-3' });
    assert.deepEqual(await child.next(), { type: 'result', id: 'w-4', value: null });
  });
});

test("limits written ahead count from the task's own start", async () => {
  await withPool(async (child, gate) => {
    child.sendAll([line('a', 'wait_for', [gate, true]),
      line('b', 'limits', [], { time_limit_ms: 60000, soft_time_limit_ms: 30000 })]);
    assert.deepEqual(await child.next(), { type: 'progress', id: 'a', progress: 'waiting' }); // b's line is read
    // Let the clock move well past the moment b's line was read before b can start.
    const readBy = Date.now();
    while (Date.now() < readBy + 50) await new Promise((resolve) => setTimeout(resolve, 10));
    const released = Date.now();
    fs.writeFileSync(gate, '');
    assert.deepEqual(await child.next(), { type: 'result', id: 'a', value: 'released' });
    const { value } = await child.next();
    const done = Date.now();
    assert.ok(released + 60000 <= value.deadline && value.deadline <= done + 60000, JSON.stringify({ released, value, done }));
    assert.ok(released + 30000 <= value.softDeadline && value.softDeadline <= done + 30000, JSON.stringify({ released, value, done }));
    // A deadline given as such is kept as it is.
    child.task('c', 'limits', [], { deadline: 4102444800000, soft_deadline: 4102444790000 });
    assert.deepEqual(await child.next(), { type: 'result', id: 'c', value: { deadline: 4102444800000, softDeadline: 4102444790000 } });
  });
});

test('a step_ack that holds the withdraw marker still reaches its step', async () => {
  await withPool(async (child) => {
    const workflow = { run: 'run-n', name: 'nap', version: 1, code_version: 1, now: 1700000000000, journal: [] };
    child.task('n-1', 'wf:nap', [5000], { queue: 'workflows', workflow });
    assert.deepEqual(await child.next(), { type: 'step', id: 'n-1', index: 0, name: 'nap', op: 'sleep', delay_ms: 5000 });
    child.send({ type: 'step_ack', id: 'n-1', index: 0, ok: true, suspended: true, note: 'withdraw' });
    assert.deepEqual(await child.next(), { type: 'result', id: 'n-1', value: null });
  }, 'workflow-cases.js');
});
