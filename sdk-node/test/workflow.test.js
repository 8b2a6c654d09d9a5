// Workflows beyond the vector transcripts, against a real child (fixtures/workflow-cases.js):
// durations and wake times, keys outside steps, suspensions a try/catch cannot swallow,
// durable retries, children, call options, by-name replay across versions, refusals.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { Child } = require('../fixtures/harness');
const { durationMs, epochMs } = require('../lib/durations');

const NOW = 1700000000000;

/** Run `body` against a pool child, then shut it down and run `after` (its stderr is whole). */
async function withChild(body, after = () => {}) {
  const child = new Child('workflow-cases.js', { STEM_ISOLATION: 'pool' });
  try {
    const hello = await child.next();
    assert.equal(hello.type, 'hello');
    await body(child);
    child.send({ type: 'shutdown' });
    assert.equal((await child.exited()).code, 0, child.stderr);
    after(child);
  } finally {
    child.kill();
  }
}

/** Send the resume `id` of workflow `name` with `journal` (and `run` fields overriding). */
function resume(child, id, name, args = [], journal = [], run = {}) {
  const workflow = { run: `run-${id}`, name, version: 1, code_version: 1, now: NOW, journal, ...run };
  child.task(id, `wf:${name}`, args, { queue: 'workflows', workflow });
}

function ack(child, id, index, extra = {}) {
  child.send({ type: 'step_ack', id, index, ok: true, ...extra });
}

const step = (id, index, name, op, fields = {}) => ({ type: 'step', id, index, name, op, ...fields });
const done = (index, name, kind, result, extra = {}) => ({ index, name, kind, state: 'done', attempt: 1, result, ...extra });

test('durations are ms or text with units; wake times are Dates or epoch ms', () => {
  assert.equal(durationMs(250), 250);
  assert.equal(durationMs(1.6), 2);
  assert.equal(durationMs('500ms'), 500);
  assert.equal(durationMs('1.5s'), 1500);
  assert.equal(durationMs('2d'), 2 * 86400000);
  assert.equal(durationMs('1h30m'), 5400000);
  assert.equal(durationMs('1h 30m 5s'), 5405000);
  assert.equal(durationMs('0s'), 0);
  for (const bad of ['5', '', 'soon', '1x', '-1s', '1h-30m', -1, Number.NaN, Infinity, null, {}, new Date()]) {
    assert.throws(() => durationMs(bad), /duration|milliseconds|wake time/, `accepted ${String(bad)}`);
  }
  assert.equal(epochMs(new Date(NOW)), NOW);
  assert.equal(epochMs(NOW + 0.4), NOW);
  assert.throws(() => epochMs(new Date('nope')), /invalid Date/);
  assert.throws(() => epochMs('2024-01-01'), /epoch milliseconds/);
});

test('hello lists the workflows as wf:NAME tasks', async () => {
  const child = new Child('workflow-cases.js');
  try {
    const hello = await child.next();
    assert.ok(hello.tasks.includes('wf:nap') && hello.tasks.includes('add'), JSON.stringify(hello.tasks));
    assert.deepEqual(hello.tasks, [...hello.tasks].sort());
  } finally {
    child.kill();
  }
});

test('sleep sends delay_ms for a duration and until (epoch ms) for a wake time, then suspends', async () => {
  await withChild(async (child) => {
    const cases = [['2d', { delay_ms: 172800000 }], ['1h30m', { delay_ms: 5400000 }], ['500ms', { delay_ms: 500 }],
      [1500, { delay_ms: 1500 }], [{ until: NOW + 5000 }, { until: NOW + 5000 }], [{ date: NOW + 7000 }, { until: NOW + 7000 }]];
    for (const [i, [spec, fields]] of cases.entries()) {
      resume(child, `n-${i}`, 'nap', [spec]);
      assert.deepEqual(await child.next(), step(`n-${i}`, 0, 'nap', 'sleep', fields));
      ack(child, `n-${i}`, 0, { suspended: true });
      assert.deepEqual(await child.next(), { type: 'result', id: `n-${i}`, value: null });
    }
    resume(child, 'n-done', 'nap', ['2d'], [done(0, 'nap', 'sleep', undefined, { wake_at: NOW })]);
    assert.deepEqual(await child.next(), { type: 'result', id: 'n-done', value: 'rested' });
    resume(child, 'n-bad', 'nap', ['2 days']);
    const bad = await child.next();
    assert.equal(bad.type, 'error');
    assert.match(bad.error.message, /invalid duration "2 days"/);
  });
});

test('ctx.idempotencyKey outside a step throws', async () => {
  await withChild(async (child) => {
    resume(child, 'k-1', 'keyless');
    const reply = await child.next();
    assert.equal(reply.type, 'error');
    assert.match(reply.error.message, /only set while a step runs/);
  });
});

test('a try/catch/finally around ctx.sleep does not swallow the suspension', async () => {
  await withChild(async (child) => {
    resume(child, 's-1', 'stubborn');
    assert.deepEqual(await child.next(), step('s-1', 0, 'nap', 'sleep', { delay_ms: 1000 }));
    ack(child, 's-1', 0, { suspended: true });
    assert.deepEqual(await child.next(), { type: 'result', id: 's-1', value: null });
    // The next line is the next task's answer: nothing of the suspended code ran in between.
    child.task('t-after', 'add', [1, 2]);
    assert.deepEqual(await child.next(), { type: 'result', id: 't-after', value: 3 });
  }, (child) => {
    for (const text of ['ran past the sleep', 'caught the suspension', 'finally ran']) {
      assert.ok(!child.stderr.includes(text), `the workflow went on: ${child.stderr}`);
    }
  });
});

test('a refused sleep ends the resume with the ack error as is', async () => {
  await withChild(async (child) => {
    resume(child, 's-2', 'stubborn');
    assert.equal((await child.next()).op, 'sleep');
    const error = { type: 'Cancelled', message: 'run run-s-2 was cancelled', traceback: '', retryable: false };
    child.send({ type: 'step_ack', id: 's-2', index: 0, ok: false, error });
    assert.deepEqual(await child.next(), { type: 'error', id: 's-2', error });
  }, (child) => {
    for (const text of ['ran past the sleep', 'caught the suspension', 'finally ran']) {
      assert.ok(!child.stderr.includes(text), `the workflow went on: ${child.stderr}`);
    }
  });
});

test('a retry with a delay is durable: it suspends, and the next resume runs the next attempt', async () => {
  await withChild(async (child) => {
    resume(child, 'p-1', 'patient', [], [], { run: 'run-p' });
    assert.deepEqual(await child.next(), step('p-1', 0, 'charge', 'start', { attempt: 1 }));
    const retry = await child.next();
    assert.deepEqual({ ...retry, error: undefined }, step('p-1', 0, 'charge', 'retry', { attempt: 1, delay_ms: 2000, error: undefined }));
    assert.equal(retry.error.message, 'declined run-p/charge/1');
    ack(child, 'p-1', 0, { suspended: true });
    assert.deepEqual(await child.next(), { type: 'result', id: 'p-1', value: null });

    const retrying = (attempt) => [{ index: 0, name: 'charge', kind: 'step', state: 'retrying', attempt }];
    resume(child, 'p-2', 'patient', [], retrying(2), { run: 'run-p' });
    assert.deepEqual(await child.next(), step('p-2', 0, 'charge', 'start', { attempt: 2 }));
    assert.equal((await child.next()).op, 'retry');
    ack(child, 'p-2', 0, { suspended: true });
    assert.deepEqual(await child.next(), { type: 'result', id: 'p-2', value: null });

    resume(child, 'p-3', 'patient', [], retrying(3), { run: 'run-p' });
    assert.deepEqual(await child.next(), step('p-3', 0, 'charge', 'start', { attempt: 3 }));
    assert.deepEqual(await child.next(), step('p-3', 0, 'charge', 'done', { attempt: 3, result: 'paid run-p/charge/3' }));
    ack(child, 'p-3', 0);
    assert.deepEqual(await child.next(), { type: 'result', id: 'p-3', value: 'paid run-p/charge/3' });
  });
});

test('a Fatal thrown by a step is not retried', async () => {
  await withChild(async (child) => {
    resume(child, 'd-1', 'doomed');
    assert.equal((await child.next()).op, 'start');
    const fail = await child.next();
    assert.equal(fail.op, 'fail');
    assert.equal(fail.attempt, 1);
    assert.equal(fail.error.retryable, false);
    ack(child, 'd-1', 0);
    assert.deepEqual(await child.next(), { type: 'result', id: 'd-1', value: { step: 'charge', type: 'Fatal', message: 'card stolen' } });
  });
});

test('startChild sends a child op with the workflow, args and kwargs; a replay returns its result', async () => {
  await withChild(async (child) => {
    resume(child, 'c-1', 'parent', ['o-1']);
    assert.deepEqual(await child.next(), step('c-1', 0, 'sub', 'child', { workflow: 'refund', args: ['o-1'], kwargs: { full: true } }));
    ack(child, 'c-1', 0, { suspended: true });
    assert.deepEqual(await child.next(), { type: 'result', id: 'c-1', value: null });
    resume(child, 'c-2', 'parent', ['o-1'], [done(0, 'sub', 'child', { refunded: 12 }, { target: 'run-c:0' })]);
    assert.deepEqual(await child.next(), { type: 'result', id: 'c-2', value: { refund: { refunded: 12 } } });
  });
});

test('call options go out in snake_case, only those given; a failed call throws StepFailedError', async () => {
  await withChild(async (child) => {
    resume(child, 'o-1', 'caller', ['full']);
    assert.deepEqual(await child.next(), step('o-1', 0, 'invoice', 'call', {
      task: 'render', args: [1], kwargs: { a: 1 },
      options: { queue: 'node', priority: 3, max_retries: 2, time_limit: '30s', countdown: 5 },
    }));
    ack(child, 'o-1', 0, { suspended: true });
    assert.deepEqual(await child.next(), { type: 'result', id: 'o-1', value: null });
    resume(child, 'o-2', 'caller', ['bare']);
    assert.deepEqual(await child.next(), step('o-2', 0, 'render', 'call', { task: 'render', args: [1], kwargs: {} }));
    ack(child, 'o-2', 0, { suspended: true });
    assert.deepEqual(await child.next(), { type: 'result', id: 'o-2', value: null });
    const error = { type: 'TemplateMissing', message: 'no template', traceback: '', retryable: false };
    resume(child, 'o-3', 'caller', ['full'], [{ index: 0, name: 'invoice', kind: 'call', state: 'failed', attempt: 1, error }]);
    assert.deepEqual(await child.next(), { type: 'result', id: 'o-3', value: { failed: 'TemplateMissing', message: 'no template', step: 'invoice' } });
  });
});

test('under another version steps match by name; under the same one a new name is nondeterminism', async () => {
  const journal = [done(0, 'a', 'step', 'a1'), done(1, 'old', 'step', 'old1'), done(2, 'b', 'step', 'b1')];
  await withChild(async (child) => {
    resume(child, 'v-1', 'evolving', [], journal, { version: 1, code_version: 2 });
    assert.deepEqual(await child.next(), step('v-1', 3, 'new', 'start', { attempt: 1 }));
    assert.deepEqual(await child.next(), step('v-1', 3, 'new', 'done', { attempt: 1, result: 'new2' }));
    ack(child, 'v-1', 3);
    assert.deepEqual(await child.next(), { type: 'result', id: 'v-1', value: ['a1', 'new2', 'b1'] });

    resume(child, 'v-2', 'evolving', [], journal, { version: 2, code_version: 2 });
    const refused = await child.next();
    assert.equal(refused.type, 'error');
    assert.deepEqual({ ...refused.error, traceback: '' }, {
      type: 'Nondeterminism', message: 'step 1 was "old" when recorded, the code now asks for "new"', traceback: '', retryable: false,
    });

    resume(child, 'v-3', 'evolving', [], [{ ...journal[0], kind: 'sleep' }]);
    const kind = await child.next();
    assert.equal(kind.error.type, 'Nondeterminism');
    assert.equal(kind.error.message, 'step 0 was "a" (a sleep) when recorded, the code now asks for "a" (a step)');
  });
});

test('waitForEvent without a timeout, then its payload on replay', async () => {
  await withChild(async (child) => {
    resume(child, 'w-1', 'listener');
    assert.deepEqual(await child.next(), step('w-1', 0, 'ping', 'wait', { topic: 'pings' }));
    ack(child, 'w-1', 0, { suspended: true });
    assert.deepEqual(await child.next(), { type: 'result', id: 'w-1', value: null });
    resume(child, 'w-2', 'listener', [], [done(0, 'ping', 'event', { n: 1 }, { topic: 'pings' })]);
    assert.deepEqual(await child.next(), { type: 'result', id: 'w-2', value: { timedOut: false, payload: { n: 1 } } });
  });
});

test('calls made together run in turn, numbered in call order; nested calls and odd results', async () => {
  await withChild(async (child) => {
    resume(child, 'a-1', 'together');
    for (const [index, name] of [[0, 'one'], [1, 'two']]) {
      assert.deepEqual(await child.next(), step('a-1', index, name, 'start', { attempt: 1 }));
      assert.deepEqual(await child.next(), step('a-1', index, name, 'done', { attempt: 1, result: index + 1 }));
      ack(child, 'a-1', index);
    }
    assert.deepEqual(await child.next(), { type: 'result', id: 'a-1', value: [1, 2] });

    resume(child, 'a-2', 'nested');
    assert.equal((await child.next()).op, 'start');
    const fail = await child.next();
    assert.equal(fail.op, 'fail');
    assert.match(fail.error.message, /ctx\.step\("inner"\) was called inside step "outer"/);
    ack(child, 'a-2', 0);
    assert.match((await child.next()).value, /a step's function cannot make workflow calls/);

    resume(child, 'a-3', 'shapes');
    assert.equal((await child.next()).op, 'start');
    assert.deepEqual(await child.next(), step('a-3', 0, 'when', 'done', { attempt: 1, result: '1970-01-01T00:00:00.000Z' }));
    ack(child, 'a-3', 0);
    assert.equal((await child.next()).op, 'start');
    assert.deepEqual(await child.next(), step('a-3', 1, 'nothing', 'done', { attempt: 1, result: null }));
    ack(child, 'a-3', 1);
    assert.deepEqual(await child.next(), { type: 'result', id: 'a-3', value: { when: '1970-01-01T00:00:00.000Z', nothing: null } });
  });
});

test('a wrong ack is a ProtocolError; a workflow task without its run is refused', async () => {
  await withChild(async (child) => {
    resume(child, 'x-1', 'listener');
    assert.equal((await child.next()).op, 'wait');
    ack(child, 'x-1', 5, { suspended: true });
    const reply = await child.next();
    assert.equal(reply.error.type, 'ProtocolError');
    assert.match(reply.error.message, /expected the step_ack of step 0 of task x-1/);
    child.task('x-2', 'wf:listener');
    const missing = await child.next();
    assert.equal(missing.error.type, 'ProtocolError');
    assert.match(missing.error.message, /no workflow field/);
  });
});

test('EOF while a step waits for its ack ends the child with status 0 and no answer', async () => {
  const child = new Child('workflow-cases.js');
  try {
    assert.equal((await child.next()).type, 'hello');
    resume(child, 'e-1', 'listener');
    assert.equal((await child.next()).op, 'wait');
    child.process.stdin.end();
    assert.equal((await child.exited()).code, 0, child.stderr);
    assert.deepEqual(child.lines.filter((line) => line !== ''), []);
  } finally {
    child.kill();
  }
});
