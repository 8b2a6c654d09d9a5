// The producer side of durable workflows against the real `stem` binary (STEM_BIN): a Node
// workflow run by a real `stem worker` on the embedded SQLite default of a temporary folder,
// driven over the CLI transport and over the HTTP API of a `stem serve` on the same store:
// start, suspended on an event, listed as a waiter, resumed by emit, its result; idempotent
// starts; cancel; rewind; wait timeouts; a failed run; and the errors of unknown workflows,
// runs and steps, with the same codes on both transports.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const { Client, WorkflowRun, WorkflowFailedError, TaskTimeout, ApiError, StemCliError } = require('..');

const BIN = process.env.STEM_BIN;
const skip = !BIN ? 'STEM_BIN is not set: these tests need the stem binary'
  : !fs.existsSync(BIN) ? `STEM_BIN names ${BIN}, which does not exist` : false;
const SDK = path.join(__dirname, '..');
const PATIENCE_MS = 20000;

// The workflows: `order` journals a charge (counting its runs in charges.txt), waits for its
// shipment event and returns both; `doomed` fails for good in its first step.
const FLOWS = `'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { workflow, run, Fatal } = require(${JSON.stringify(SDK)});

workflow('order', async (ctx, oid) => {
  const charged = await ctx.step('charge', () => {
    fs.appendFileSync(path.join(__dirname, 'charges.txt'), oid + '\\n');
    return fs.readFileSync(path.join(__dirname, 'charges.txt'), 'utf8').split('\\n').filter((l) => l === oid).length;
  });
  const shipped = await ctx.waitForEvent('shipped', 'shipment.' + oid, { timeout: '60s' });
  return { oid, charged, coupon: ctx.kwargs.coupon || null, tracking: shipped.timedOut ? null : shipped.payload.tracking };
});

workflow('doomed', async (ctx) => {
  await ctx.step('explode', () => { throw new Fatal('disk on fire'); });
  return 'unreachable';
});

run();
`;

let dir;
let env;
let url;
const procs = [];

function stop(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', resolve);
    child.kill('SIGTERM');
  });
}

before(async () => {
  if (skip) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stem-wf-client-test-'));
  fs.writeFileSync(path.join(dir, 'flows.js'), FLOWS);
  fs.writeFileSync(path.join(dir, 'stem.toml'), [
    '[runtimes.node]', `command = [${JSON.stringify(process.execPath)}, "flows.js"]`, 'isolation = "pool"', '',
    '[workflows.order]', 'runtime = "node"', 'queue = "flows"', 'max_retries = 0', '',
    '[workflows.doomed]', 'runtime = "node"', 'queue = "flows"', 'max_retries = 0', '',
  ].join('\n'));
  // The embedded default: stem.db in the folder every process runs in.
  env = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('STEM_') && name !== 'STEM_BIN') delete env[name];
  delete env.NODE_TEST_CONTEXT;
  procs.push(spawn(BIN, ['worker', '--concurrency', '4', '--queues', 'flows'], { env, cwd: dir, stdio: 'ignore' }));
  const server = spawn(BIN, ['serve', '--listen', '127.0.0.1:0'], { env, cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] });
  procs.push(server);
  url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('stem serve did not say where it listens within 20 s')), PATIENCE_MS);
    readline.createInterface({ input: server.stdout }).on('line', (line) => {
      const m = /listening on (\S+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    server.once('exit', (code) => reject(new Error(`stem serve exited ${code}`)));
  });
});

after(async () => {
  await Promise.all(procs.map(stop));
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Polls `probe` until it returns a truthy value (returned) or PATIENCE_MS pass (an assertion). */
async function eventually(what, probe) {
  const deadline = Date.now() + PATIENCE_MS;
  let last;
  for (let pause = 20; Date.now() < deadline; pause = Math.min(pause * 2, 250)) {
    last = await probe();
    if (last) return last;
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
  assert.fail(`${what} did not happen within ${PATIENCE_MS} ms`);
}

/** Waits until `run` waits on `topic` (suspended, and listed as a waiter); returns the waiter. */
async function waitingOn(client, run, topic) {
  return eventually(`run ${run.id} waiting on ${topic}`, async () => {
    if ((await run.show()).state !== 'suspended') return null;
    return (await client.workflowWaiters({ topic })).find((w) => w.run === run.id);
  });
}

const transports = {
  cli: () => new Client({ bin: BIN, env, cwd: dir }),
  http: () => new Client({ url }),
};

for (const [label, makeClient] of Object.entries(transports)) {
  const refusal = (code) => (err) => {
    if (label === 'http') assert.ok(err instanceof ApiError, `${label}: ${err}`);
    else assert.ok(err instanceof StemCliError, `${label}: ${err}`);
    assert.equal(err.code, code, String(err));
    return true;
  };

  test(`${label}: start, suspended on an event, waiters, emit, result`, { skip }, async () => {
    const client = makeClient();
    const oid = `${label}-o1`;
    const run = await client.startWorkflow('order', { args: [oid], kwargs: { coupon: 'SPRING' } });
    assert.ok(run instanceof WorkflowRun);
    assert.equal(run.created, true);
    const waiter = await waitingOn(client, run, `shipment.${oid}`);
    assert.equal(waiter.topic, `shipment.${oid}`);
    assert.equal(typeof waiter.index, 'number');
    const shown = await run.show();
    assert.deepEqual(shown.steps.map((s) => [s.name, s.state]), [['charge', 'done'], ['shipped', 'waiting']]);
    assert.deepEqual(shown.args, [oid]);
    assert.ok((await client.workflowRuns({ state: 'suspended', name: 'order' })).some((r) => r.id === run.id));
    // A wait that runs out is the SDK's timeout error, naming the state it saw.
    await assert.rejects(run.wait({ timeout: 0.3 }), (err) => err instanceof TaskTimeout && err.state === 'suspended' && /workflow run/.test(err.message));
    const emitted = await client.emit(`shipment.${oid}`, { tracking: 'T-1' });
    assert.equal(emitted.resumed, 1);
    assert.deepEqual(emitted.runs, [run.id]);
    assert.deepEqual(await run.get({ timeout: 20 }), { oid, charged: 1, coupon: 'SPRING', tracking: 'T-1' });
    const done = await client.workflowRun(run.id).wait({ timeout: 5 });
    assert.equal(done.state, 'completed');
    assert.equal((await client.emit(`shipment.${oid}`, 'late')).resumed, 0);
    assert.ok((await client.workflowRuns({ state: 'completed', limit: 1000 })).some((r) => r.id === run.id));
  });

  test(`${label}: the same id twice is one run`, { skip }, async () => {
    const client = makeClient();
    const id = `${label}-order-o2`;
    const first = await client.startWorkflow('order', { args: [`${label}-o2`], id });
    const second = await client.startWorkflow('order', { args: [`${label}-o2`], id });
    assert.deepEqual([first.id, first.created, second.id, second.created], [id, true, id, false]);
    await waitingOn(client, first, `shipment.${label}-o2`);
    assert.equal((await client.workflowRuns({ name: 'order', limit: 1000 })).filter((r) => r.id === id).length, 1);
    assert.equal((await client.emit(`shipment.${label}-o2`, { tracking: 'T-2' })).resumed, 1);
    assert.deepEqual(await second.get({ timeout: 20 }), { oid: `${label}-o2`, charged: 1, coupon: null, tracking: 'T-2' });
  });

  test(`${label}: cancel ends a waiting run and get rejects with WorkflowFailedError`, { skip }, async () => {
    const client = makeClient();
    const run = await client.startWorkflow('order', { args: [`${label}-o3`] });
    await waitingOn(client, run, `shipment.${label}-o3`);
    const cancelled = await run.cancel();
    assert.equal(cancelled.state, 'cancelled');
    assert.deepEqual(await client.workflowWaiters({ topic: `shipment.${label}-o3` }), []);
    await assert.rejects(run.get({ timeout: 5 }), (err) => {
      assert.ok(err instanceof WorkflowFailedError);
      assert.equal(err.id, run.id);
      assert.equal(err.state, 'cancelled');
      assert.equal(err.errorType, 'Cancelled');
      assert.equal(err.errorMessage, `run ${run.id} was cancelled`);
      assert.equal(err.run.state, 'cancelled');
      return true;
    });
    await assert.rejects(client.cancelWorkflow(run.id), refusal('workflow_conflict'));
  });

  test(`${label}: rewind runs the step again`, { skip }, async () => {
    const client = makeClient();
    const oid = `${label}-o4`;
    const run = await client.startWorkflow('order', { args: [oid] });
    await waitingOn(client, run, `shipment.${oid}`);
    assert.equal((await client.emit(`shipment.${oid}`, { tracking: 'T-4' })).resumed, 1);
    assert.equal((await run.get({ timeout: 20 })).charged, 1);
    const rewound = await run.rewind('charge');
    assert.equal(rewound.state, 'suspended');
    await waitingOn(client, run, `shipment.${oid}`);
    assert.equal((await client.emit(`shipment.${oid}`, { tracking: 'T-5' })).resumed, 1);
    assert.deepEqual(await run.get({ timeout: 20 }), { oid, charged: 2, coupon: null, tracking: 'T-5' });
    await assert.rejects(client.rewindWorkflow(run.id, 'no_such_step'),
      (err) => refusal('workflow_conflict')(err) && /has no step "no_such_step" \(its steps: charge, shipped\)/.test(err.message));
  });

  test(`${label}: a failing workflow rejects with WorkflowFailedError carrying its error`, { skip }, async () => {
    const client = makeClient();
    const run = await client.startWorkflow('doomed');
    await assert.rejects(run.get({ timeout: 20 }), (err) => {
      assert.ok(err instanceof WorkflowFailedError, String(err));
      assert.equal(err.state, 'failed');
      assert.equal(err.workflow, 'doomed');
      assert.equal(err.errorType, 'StepFailedError');
      assert.equal(err.errorMessage, 'disk on fire');
      assert.match(err.traceback, /StepFailedError: disk on fire/);
      assert.equal(err.message, `workflow run ${run.id} failed: StepFailedError: disk on fire`);
      assert.equal(err.run.steps[0].state, 'failed');
      return true;
    });
  });

  test(`${label}: unknown workflows, runs and steps are refused with stable codes`, { skip }, async () => {
    const client = makeClient();
    await assert.rejects(client.startWorkflow('nope'), (err) => refusal('unknown_workflow')(err) && /"nope": .*declares doomed, order/.test(err.message));
    await assert.rejects(client.workflowRun(`${label}-no-such-run`).show(), refusal('run_not_found'));
    await assert.rejects(client.workflowRun(`${label}-no-such-run`).get({ timeout: 1 }), refusal('run_not_found'));
    await assert.rejects(client.cancelWorkflow(`${label}-no-such-run`), refusal('run_not_found'));
    await assert.rejects(client.rewindWorkflow(`${label}-no-such-run`, 'charge'), refusal('run_not_found'));
    assert.throws(() => client.workflowRun(''), /the run id must be a non-empty string/);
    await assert.rejects(client.startWorkflow('order', { arg: [] }), /unknown option "arg"/);
    await assert.rejects(client.startWorkflow('order', { args: 'o1' }), /args must be an array/);
    await assert.rejects(client.workflowRuns({ state: 'asleep' }), /state must be one of/);
  });
}

// A stand-in `stem` for the command lines: echoes its argv in the shape `stem wf` answers, or
// fails as STEM_FAKE_MODE says (the one-line reasons the real CLI prints).
const FAKE = `#!${process.execPath}
const argv = process.argv.slice(2);
const fail = { missing: 'error: no workflow run "r-9"', unknown: 'error: unknown workflow "nope": stem.toml declares order',
  step: 'error: run r-9 has no step "x" (its steps: charge)', other: 'error: cannot open the broker' }[process.env.STEM_FAKE_MODE];
if (fail) { process.stderr.write(fail + '\\n'); process.exit(argv[1] === 'show' ? 1 : 2); }
const reply = { start: { run: 'r-1', workflow: argv[2], state: 'running', created: true }, show: { id: argv[2], state: 'completed', result: 7 },
  emit: { topic: argv[2], resumed: 0, runs: [] } }[argv[1]] || (argv[1] === 'ls' || argv[1] === 'waiters' ? [] : { id: argv[2], state: 'cancelled' });
process.stdout.write(JSON.stringify(Array.isArray(reply) ? [{ argv }] : { ...reply, argv }) + '\\n');
`;

test('cli: the stem wf command lines, and the codes read from its refusals', async () => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'stem-wf-fake-'));
  try {
    const bin = path.join(scratch, 'stem');
    fs.writeFileSync(bin, FAKE, { mode: 0o755 });
    const client = new Client({ bin, broker: 'memory://' });
    const run = await client.startWorkflow('order', { args: [1, 'ü'], kwargs: { k: true }, id: 'o-1', manifest: 'm.toml' });
    assert.deepEqual(run.started.argv, ['wf', 'start', 'order', '--args', '[1,"ü"]', '--kwargs', '{"k":true}', '--id', 'o-1',
      '--manifest', 'm.toml', '--json', '--broker', 'memory://']);
    assert.equal((await client.startWorkflow('order')).started.argv.slice(3, 7).join(' '), '--args [] --kwargs {}');
    assert.equal(await run.get({ timeout: 5 }), 7);
    assert.deepEqual((await run.show()).argv.slice(0, 4), ['wf', 'show', 'r-1', '--json']);
    const [listed] = await client.workflowRuns({ state: 'failed', name: 'order', limit: 5 });
    assert.deepEqual(listed.argv.slice(0, 8), ['wf', 'ls', '--state', 'failed', '--name', 'order', '--limit', '5']);
    const [waiting] = await client.workflowWaiters({ topic: 'a/b', limit: 3 });
    assert.deepEqual(waiting.argv.slice(0, 6), ['wf', 'waiters', '--topic', 'a/b', '--limit', '3']);
    assert.deepEqual((await client.emit('a/b')).argv.slice(0, 5), ['wf', 'emit', 'a/b', '--payload', 'null']);
    assert.deepEqual((await client.emit('t', { x: [1] })).argv.slice(3, 5), ['--payload', '{"x":[1]}']);
    assert.deepEqual((await client.cancelWorkflow('r-2')).argv.slice(0, 3), ['wf', 'cancel', 'r-2']);
    assert.deepEqual((await client.workflowRun('r-3').rewind('charge')).argv.slice(0, 5), ['wf', 'rewind', 'r-3', '--to', 'charge']);
    const failing = (mode) => new Client({ bin, env: { ...process.env, STEM_FAKE_MODE: mode } });
    await assert.rejects(failing('missing').workflowRun('r-9').show(),
      (err) => err instanceof StemCliError && err.code === 'run_not_found' && err.message === 'stem wf show failed: error: no workflow run "r-9"');
    await assert.rejects(failing('unknown').startWorkflow('nope'), (err) => err.code === 'unknown_workflow' && err.exitCode === 2);
    await assert.rejects(failing('step').rewindWorkflow('r-9', 'x'), (err) => err.code === 'workflow_conflict');
    await assert.rejects(failing('other').emit('t'), (err) => err instanceof StemCliError && err.code === undefined);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
});
