// Compiled (never run) by `tsc --noEmit` in http-client.test.js: uses the producer API and the
// workflow side as a program would, so index.d.ts must describe them.
import { Client, TaskResult, ApiError, TaskFailed, TaskTimeout, TaskRecord, ScheduleApplied, task, Retry,
  signature, chain, group, chord, CanvasResult, CanvasSubmitted, CanvasView, signing,
  workflow, WorkflowContext, StepFailedError, EventResult, Fatal,
  WorkflowRun, WorkflowRunView, WorkflowFailedError, WorkflowWaiter, WorkflowEmitted, WorkflowRunState, StemCliError,
  StemError, UnknownTaskError, StemWarningCode } from '../index.js';

const checkout = workflow('checkout', async (ctx: WorkflowContext, order: { id: string; total: number }) => {
  const runId: string = ctx.runId;
  const version: number = ctx.version + ctx.codeVersion + ctx.attempt;
  const name: string = ctx.name;
  const coupon = ctx.kwargs.coupon;
  const charge: { id: string } = await ctx.step('charge', async () => ({ id: ctx.idempotencyKey }), { retries: 3, retryDelay: '30s' });
  const plain: number = await ctx.step('count', () => 3);
  await ctx.step('notify', () => undefined, { retryDelay: 500 });
  const invoice = await ctx.call<string>('render_invoice', [order.id], { kwargs: { lang: 'en' }, name: 'invoice', queue: 'node',
    priority: 3, maxRetries: 2, timeLimit: '1m', countdown: 5 });
  await ctx.sleep('cool_off', '2d');
  await ctx.sleep('short', 1500);
  await ctx.sleep('until', { until: new Date(Date.now() + 60000) });
  await ctx.sleep('until_ms', { until: Date.now() + 60000 });
  const shipped: EventResult<{ tracking: string }> = await ctx.waitForEvent<{ tracking: string }>('shipped', `shipment.${order.id}`, { timeout: '14d' });
  const any: EventResult = await ctx.waitForEvent('any', 'topic');
  const refund = await ctx.startChild('refund', 'refund', [order.id], { kwargs: { full: true } });
  try {
    await ctx.step('risky', () => {
      throw new Fatal('no');
    });
  } catch (e) {
    if (e instanceof StepFailedError) console.log(e.step, e.type, e.message, e.traceback);
  }
  ctx.log(`run ${runId} v${version} ${name} ${String(coupon)}`);
  void any; void plain;
  return { charge, invoice, refund, tracking: shipped.timedOut ? null : shipped.payload?.tracking };
});
workflow(async function named(ctx: WorkflowContext) {
  return ctx.taskName;
});
void checkout;

function signs(): void {
  const stored = { id: 't', name: 'add', args: [1], created_at: 1 };
  const sig: string = signing.signHmac(stored, 'k1', 'c2VjcmV0');
  const form: Uint8Array = signing.signedForm(stored);
  const ok: true = signing.verify({ ...stored, signature: sig }, { k1: 'c2VjcmV0' }, 'hmac-sha256');
  const text: string = signing.canonical([1.5, { b: null }]);
  void form; void ok; void text;
}
void signs;

async function main(): Promise<void> {
  const client = new Client({ url: 'http://127.0.0.1:8750', token: 't', timeout: 10 });
  const handle: TaskResult = await client.enqueue('add', [1, 2], { kwargs: { x: 1 }, queue: 'q', countdown: '5s', priority: 3, maxRetries: 1, headers: { a: 'b' }, id: 'x', wait: true, timeout: 5 });
  const value = await handle.get(30);
  const same = await handle.get({ timeout: '30s' });
  const kept = await handle.get({ timeout: 5, propagate: false });
  console.log(same, kept, await handle.wait({ timeout: 1 }));
  const record: TaskRecord = await handle.wait();
  const later = await client.enqueue('add', [], { eta: new Date() });
  const keyed: TaskResult = await client.enqueue('add', [1, 2], { fairKey: 'tenant-a', fairWeight: 3 });
  const keyedSnake: TaskResult = await client.enqueue('add', [1, 2], { fair_key: 'tenant-b', fair_weight: 1 });
  await client.enqueueMany([['add', [1], { fairKey: 'tenant-a' }], { task: 'add', args: [2], fair_key: 'tenant-b', fair_weight: 2 }]);
  // @ts-expect-error a weight is a number
  await client.enqueue('add', [1], { fairKey: 't', fairWeight: '3' });
  // @ts-expect-error a canvas signature takes no fairness key
  signature('add', [1], { fairKey: 't' });
  void keyed; void keyedSnake;
  const unique = await client.enqueue('add', [], { uniqueKey: 'k', uniqueFor: '10m', expires: '30s' });
  const dup: boolean = unique.duplicate;
  void dup;
  const many: TaskResult[] = await client.enqueueMany([['add', [1, 2]], { task: 'add', args: [3], queue: 'q' }], { batchSize: 100 });
  const info: TaskRecord = await client.info(handle.id, { wait: 5 });
  const revoked = await client.result(later.id).revoke({ terminate: true });
  try {
    await handle.get();
  } catch (e) {
    if (e instanceof TaskFailed) console.log(e.errorType, e.taskMessage, e.traceback, e.state);
    else if (e instanceof ApiError) console.log(e.status, e.code, e.detail);
    else if (e instanceof TaskTimeout) console.log(e.id, e.state);
  }
  const applied: ScheduleApplied = await client.schedule('nightly', 'add', { cron: '30 2 * * *', timezone: 'Europe/Paris', args: [1, 2], kwargs: { x: 1 }, catchUp: 'latest', maxCatchUp: 3, jitter: '5s', enabled: true, manifest: 'stem.toml' });
  await client.schedule('once', 'add', { at: new Date(), headers: { a: 'b' } });
  const listed: Array<Record<string, unknown>> = await client.schedules();
  const gone: { deleted: string } = await client.unschedule('nightly');
  const job = chord([signature('add', [1, 2]), signature('add', [3, 4], { queue: 'q' })], signature('tsum').linkError(signature('alert')));
  const canvas: CanvasResult = await chain(signature('a'), group(signature('b'), signature('c'))).pipe(job).submit(client);
  const submitted: CanvasSubmitted = await client.submitCanvas(job.toJSON(), { timeout: 30 });
  const view: CanvasView = await client.showCanvas(submitted.id);
  try {
    console.log(await canvas.get({ timeout: 60, interval: 0.1 }), await canvas.get(60), (await canvas.show()).nodes.length);
  } catch (e) {
    if (e instanceof TaskFailed) console.log(e.failed, e.node?.task, e.view?.state, e.error.type, e.errorType);
  }
  console.log(value, record.state, many.length, info.args, revoked.revoked, applied.created, listed.length, gone.deleted, view.state);
  task('noop', () => {
    throw new Retry('later', { countdown: 5 });
  });
}

void main;

async function producesWorkflows(): Promise<void> {
  const client = new Client();
  const run: WorkflowRun = await client.startWorkflow('checkout', { args: [{ id: 'o-7', total: 50 }], kwargs: { coupon: 'X' }, id: 'checkout-o-7' });
  const again: WorkflowRun = await client.startWorkflow('checkout', { id: 'checkout-o-7', manifest: 'stem.toml' });
  const fresh: boolean = again.created;
  const view: WorkflowRunView = await run.show();
  const state: WorkflowRunState = view.state;
  const steps = (view.steps ?? []).map((s) => `${s.index} ${s.name} ${s.kind} ${s.state} ${s.topic ?? ''}`);
  const ended: WorkflowRunView = await run.wait({ timeout: '30s' });
  const waiters: WorkflowWaiter[] = await client.workflowWaiters({ topic: 'shipment.o-7', limit: 10 });
  const emitted: WorkflowEmitted = await client.emit('shipment.o-7', { tracking: 'T-1' });
  await client.emit('ping');
  const resumed: number = emitted.resumed;
  try {
    const result = await run.get<{ tracking: string }>({ timeout: 60 });
    console.log(result.tracking);
  } catch (e) {
    if (e instanceof WorkflowFailedError) console.log(e.id, e.state, e.errorType, e.errorMessage, e.traceback, e.error.type, e.run.steps?.length);
    else if (e instanceof TaskTimeout) console.log(e.id, e.state);
    else if (e instanceof ApiError || e instanceof StemCliError) console.log(e.code);
  }
  const listed: WorkflowRunView[] = await client.workflowRuns({ state: 'suspended', name: 'checkout', limit: 20 });
  const other: WorkflowRun = client.workflowRun(listed[0].id);
  const cancelled: WorkflowRunView = await other.cancel();
  const rewound: WorkflowRunView = await client.rewindWorkflow(run.id, 'charge');
  await client.cancelWorkflow(run.id);
  await run.rewind('charge');
  const value = await other.get();
  console.log(fresh, state, steps, ended.result, waiters[0]?.topic, resumed, cancelled.state, rewound.resumes, value, await client.workflowRuns());
}

void producesWorkflows;

async function refusalsAndWarnings(): Promise<void> {
  // What a `process.on('warning', ...)` listener does (no @types/node here).
  const onWarning = (warning: Error & { code?: string }): void => {
    const code = warning.code as StemWarningCode | undefined;
    if (warning.name === 'StemWarning' && code === 'STEM_STORE_CREATED') console.log(warning.message);
  };
  void onWarning;
  try {
    await new Client().enqueue('nope', [], { wait: true, timeout: '5s' });
  } catch (e) {
    if (e instanceof UnknownTaskError) {
      const code: 'unknown_task' = e.code;
      const name: string | undefined = e.task;
      console.log(code, name, e instanceof StemError);
    }
    if (e instanceof ApiError) console.log(e.task, e.status);
    if (e instanceof StemCliError) console.log(e.task, e.exitCode);
  }
  const made: UnknownTaskError = new UnknownTaskError('nope');
  console.log(made.task);
}

void refusalsAndWarnings;

// @stem/sdk/testing, as a test file would use it.
import { runTask, startWorker, TaskRun, StemWorker } from '../lib/testing.js';
async function testingHelpers(): Promise<void> {
  const run: TaskRun<number> = await runTask((ctx, a: number, b: number) => a + b + ctx.attempt, [1, 2], { retriesLeft: 1, softLimitAfter: 0.5 });
  const sum: number = run.get();
  const byName = await runTask('add', [1, 2], { kwargs: { x: 1 }, headers: { h: 'v' } });
  const state: 'success' | 'retry' | 'failure' = byName.state;
  const types: string[] | undefined = byName.error?.types;
  const worker: StemWorker = await startWorker({ manifest: 'stem.toml', concurrency: 1, t: { after: (fn) => void fn } });
  const result = await worker.client.enqueue('add', [1, 2]);
  await result.get(60);
  await worker.stop();
  void sum; void state; void types; void run.progress; void run.logs; void run.countdown;
}
void testingHelpers;
// The Postgres helpers: enqueue in the app's own transaction.
import { pg } from '../index.js';
declare const db: pg.PgQueryable;
async function inTransaction(client: Client): Promise<string[]> {
  const id: string = await pg.enqueue(db, 'add', [1, 2], { schema: 'stem', priority: 3, uniqueKey: 'k' });
  const ids: string[] = await pg.enqueueMany(db, [['add', [1]], { task: 'add', args: [2] }]);
  const handle: TaskResult = await client.enqueue('add', [1], { client: db, schema: pg.schemaName('app') });
  return [id, handle.id, ...ids];
}
void inTransaction;
