// The serve loop beyond the vectors: stdout stays the protocol's, odd results and throws
// become errors without ending the loop, and many tasks share one child (pool mode).
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { Child } = require('../fixtures/harness');

async function withChild(env, body) {
  const child = new Child('behaviour-tasks.js', env);
  try {
    const hello = await child.next();
    assert.equal(hello.type, 'hello');
    await body(child);
  } finally {
    child.kill();
  }
}

test('hello comes first and names the sdk and sorted tasks', async () => {
  await withChild({}, async (child) => {
    child.send({ type: 'shutdown' });
    assert.equal((await child.exited()).code, 0);
  });
  const child = new Child('vector-tasks.js');
  try {
    const hello = await child.next();
    assert.match(hello.sdk, /^stem-node\/\d+\.\d+\.\d+/);
    assert.equal(hello.protocol, 1);
  } finally {
    child.kill();
  }
});

test('console output and process.stdout go to stderr, not the protocol', async () => {
  await withChild({}, async (child) => {
    child.task('t-loud', 'loud');
    assert.deepEqual(await child.next(), { type: 'result', id: 't-loud', value: 'quiet result' });
    child.send({ type: 'shutdown' });
    assert.equal((await child.exited()).code, 0);
    for (const text of ['printed while the module loads', 'console.log from a task', 'console.info from a task',
      'console.debug from a task', 'process.stdout.write from a task']) {
      assert.ok(child.stderr.includes(text), `stderr lacks ${text}: ${child.stderr}`);
    }
  });
});

test('results that are not JSON become non-retryable errors and the loop goes on', async () => {
  await withChild({}, async (child) => {
    for (const name of ['bigint', 'circular', 'function_result']) {
      child.task(`t-${name}`, name);
      const reply = await child.next();
      assert.equal(reply.type, 'error', JSON.stringify(reply));
      assert.equal(reply.id, `t-${name}`);
      assert.equal(reply.error.type, 'TypeError');
      assert.equal(reply.error.retryable, false);
      assert.match(reply.error.message, new RegExp(`the result of task '${name}' is not JSON-serializable`));
    }
    child.task('t-nothing', 'nothing');
    assert.deepEqual(await child.next(), { type: 'result', id: 't-nothing', value: null });
  });
});

test('a thrown string, a thrown null and an unnamed Error subclass are reported', async () => {
  await withChild({}, async (child) => {
    child.task('t-str', 'throw_string');
    const str = await child.next();
    assert.equal(str.type, 'error');
    assert.deepEqual({ ...str.error, traceback: undefined }, { type: 'Error', message: 'plain string', traceback: undefined, retryable: true });
    child.task('t-null', 'throw_null');
    const nul = await child.next();
    assert.equal(nul.error.message, 'null');
    assert.equal(nul.error.retryable, true);
    child.task('t-class', 'unnamed_class');
    const named = await child.next();
    assert.equal(named.error.type, 'QuotaExceeded');
    assert.equal(named.error.message, 'over quota');
    assert.match(named.error.traceback, /over quota/);
  });
});

test('many tasks in one pool child, each with its own fresh context', async () => {
  await withChild({ STEM_ISOLATION: 'pool' }, async (child) => {
    for (let i = 0; i < 200; i += 1) {
      const name = i % 3 === 0 ? 'signal_state' : i % 3 === 1 ? 'throw_string' : 'nothing';
      child.task(`t-${i}`, name);
      const reply = await child.next();
      assert.equal(reply.id, `t-${i}`);
      if (name === 'signal_state') assert.deepEqual(reply.value, { aborted: false });
    }
    child.send({ type: 'shutdown' });
    assert.equal((await child.exited()).code, 0);
  });
});

test('a report made after the task finished is dropped, not sent under a stale id', async () => {
  await withChild({ STEM_ISOLATION: 'pool' }, async (child) => {
    child.task('t-late', 'late_report');
    assert.deepEqual(await child.next(), { type: 'result', id: 't-late', value: 'early' });
    child.task('t-wait', 'wait', [100]);
    assert.deepEqual(await child.next(), { type: 'result', id: 't-wait', value: 100 });
    await child.until(() => child.stderr.includes('reported after it finished'), 'the dropped-report note');
  });
});

test('EOF on stdin without shutdown exits 0', async () => {
  await withChild({}, async (child) => {
    child.task('t-1', 'wait', [10]);
    child.process.stdin.end();
    assert.deepEqual(await child.next(), { type: 'result', id: 't-1', value: 10 });
    assert.equal((await child.exited()).code, 0);
  });
});

test('a throw outside the handler fails the running task, then the child exits 1', async () => {
  await withChild({ STEM_ISOLATION: 'pool' }, async (child) => {
    child.task('t-timer', 'timer_throws');
    const reply = await child.next();
    assert.equal(reply.type, 'error');
    assert.equal(reply.id, 't-timer');
    assert.equal(reply.error.type, 'RangeError');
    assert.equal(reply.error.message, 'thrown in a timer');
    assert.equal((await child.exited()).code, 1);
  });
});

test('lines that are not JSON objects are skipped with a note on stderr', async () => {
  await withChild({}, async (child) => {
    child.process.stdin.write('not json\n[1,2]\n\n');
    child.task('t-after', 'nothing');
    assert.deepEqual(await child.next(), { type: 'result', id: 't-after', value: null });
    assert.match(child.stderr, /not a JSON object/);
  });
});

test('forkserver isolation and an unknown soft signal are refused with exit 2', async () => {
  for (const env of [{ STEM_ISOLATION: 'forkserver' }, { STEM_SOFT_SIGNAL: 'SIGNOPE' }]) {
    const child = new Child('behaviour-tasks.js', env);
    try {
      const { code } = await child.exited();
      assert.equal(code, 2, JSON.stringify(env));
      assert.match(child.stderr, /forkserver|SIGNOPE/);
    } finally {
      child.kill();
    }
  }
});

test('a task line with malformed args or kwargs gets a ProtocolError', async () => {
  await withChild({}, async (child) => {
    child.task('t-args', 'nothing', { not: 'a list' });
    const args = await child.next();
    assert.equal(args.error.type, 'ProtocolError');
    assert.equal(args.error.retryable, false);
    child.task('t-kwargs', 'nothing', [], { kwargs: [1] });
    assert.equal((await child.next()).error.type, 'ProtocolError');
  });
});

test('a 10 MB result arrives whole; one past the line limit and NaN are refused', async () => {
  await withChild({}, async (child) => {
    child.task('t-big', 'big', [10 * 1024 * 1024]);
    const big = await child.next(10000);
    assert.equal(big.value.length, 10 * 1024 * 1024);
    child.task('t-huge', 'big', [17 * 1024 * 1024]);
    const huge = await child.next(10000);
    assert.equal(huge.error.type, 'ResultTooLarge');
    child.task('t-nan', 'not_a_number');
    const nan = await child.next();
    assert.equal(nan.error.type, 'RangeError');
    assert.equal(nan.error.retryable, false);
  });
});

test('task lines that come in one write are all answered, in order', async () => {
  await withChild({}, async (child) => {
    const line = (id, name, args = []) => JSON.stringify({ type: 'task', id, name, args, kwargs: {}, queue: 'default',
      attempt: 1, retries_left: 0, headers: {} });
    const batch = [line('b-1', 'nothing'), line('b-2', 'wait', [5]), line('b-3', 'missing'), 'not json',
      line('b-4', 'signal_state'), line('b-5', 'nothing')].join('\n');
    const split = line('b-6', 'wait', [1]);
    child.process.stdin.write(`${batch}\n${split.slice(0, 7)}`);
    child.process.stdin.write(`${split.slice(7)}\n`);
    assert.deepEqual(await child.next(), { type: 'result', id: 'b-1', value: null });
    assert.deepEqual(await child.next(), { type: 'result', id: 'b-2', value: 5 });
    const unknown = await child.next();
    assert.equal(unknown.id, 'b-3');
    assert.equal(unknown.error.type, 'UnknownTask');
    assert.deepEqual(await child.next(), { type: 'result', id: 'b-4', value: { aborted: false } });
    assert.deepEqual(await child.next(), { type: 'result', id: 'b-5', value: null });
    assert.deepEqual(await child.next(), { type: 'result', id: 'b-6', value: 1 });
    child.send({ type: 'shutdown' });
    assert.equal((await child.exited()).code, 0);
  });
});
