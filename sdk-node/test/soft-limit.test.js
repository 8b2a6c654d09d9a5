// The soft time limit against a real child: the STEM_SOFT_SIGNAL signal aborts ctx.signal
// (reason SoftTimeLimitExceeded); a task that ignores it keeps running (the supervisor kills).
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { Child } = require('../fixtures/harness');

async function started(child, id) {
  assert.equal((await child.next()).type, 'hello');
  assert.deepEqual(await child.next(), { type: 'progress', id, progress: 'started' });
}

for (const signal of ['SIGUSR2', 'SIGUSR1', 'SIGHUP']) {
  test(`${signal} as STEM_SOFT_SIGNAL aborts ctx.signal and the partial result is sent`, async () => {
    const child = new Child('behaviour-tasks.js', { STEM_SOFT_SIGNAL: signal, STEM_ISOLATION: 'pool' });
    try {
      child.task('t-soft', 'patient');
      await started(child, 't-soft');
      child.process.kill(signal);
      assert.deepEqual(await child.next(), {
        type: 'result',
        id: 't-soft',
        value: { partial: true, steps: true, reason: 'SoftTimeLimitExceeded' },
      });
      // The next task in the same child starts with a fresh, unaborted signal.
      child.task('t-next', 'signal_state');
      assert.deepEqual(await child.next(), { type: 'result', id: 't-next', value: { aborted: false } });
      child.send({ type: 'shutdown' });
      assert.equal((await child.exited()).code, 0);
    } finally {
      child.kill();
    }
  });
}

test('a task that ignores the soft signal keeps running to its own end', async () => {
  const child = new Child('behaviour-tasks.js');
  try {
    child.task('t-stubborn', 'stubborn', [300]);
    await started(child, 't-stubborn');
    child.process.kill('SIGUSR2');
    assert.deepEqual(await child.next(), { type: 'result', id: 't-stubborn', value: { finished: true, aborted: true } });
    child.send({ type: 'shutdown' });
    assert.equal((await child.exited()).code, 0);
  } finally {
    child.kill();
  }
});

test('the soft signal between tasks does not end the child', async () => {
  const child = new Child('behaviour-tasks.js', { STEM_ISOLATION: 'pool' });
  try {
    assert.equal((await child.next()).type, 'hello');
    child.process.kill('SIGUSR2');
    child.task('t-after', 'signal_state');
    assert.deepEqual(await child.next(), { type: 'result', id: 't-after', value: { aborted: false } });
    child.send({ type: 'shutdown' });
    assert.equal((await child.exited()).code, 0);
  } finally {
    child.kill();
  }
});
