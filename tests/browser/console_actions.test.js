// The operator's console in a real browser (Debian's headless chromium, playwright-core) against
// a real `stem serve` and `stem worker` on one SQLite file, every action done by clicking: a
// queue's page lists its waiting (priority order), scheduled, retrying and leased tasks, flags a
// queue no live worker consumes, and revokes the picked tasks; the task list pages by cursor and
// retries, terminates and deletes the picked tasks after a confirmation; a schedule is run now,
// disabled and enabled; the stats page has per-task figures and latency charts with axes; a
// worker is paused, resumed and shut down warm; a read token sees none of these actions and the
// API refuses them. Screenshots go to target/browser-artifacts/.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('path');
const { ARTIFACTS, Site, until, newPage, launch, skip } = require('./lib');

let site;
let browser;
let base; // tokenless
let guarded; // the same store, with an admin and a read token
let worker;

const MANIFEST = [
  '[runtimes.python]', 'command = ["python3", "tasks.py"]', 'isolation = "pool"', '',
  '[defaults]', 'max_retries = 0', '',
  '[tasks.echo]', 'runtime = "python"', '',
  '[tasks.boom]', 'runtime = "python"', '',
  '[tasks.nap]', 'runtime = "python"', '',
  '[tasks.flaky]', 'runtime = "python"', 'max_retries = 3', 'retry = { backoff = "fixed", base = "1h" }', '',
].join('\n');

const TASKS = [
  'import time',
  'from stem_sdk import run, task',
  '',
  '@task',
  'def echo(*args):',
  '    return list(args)',
  '',
  '@task',
  'def boom():',
  '    raise RuntimeError("boom")',
  '',
  '@task',
  'def flaky():',
  '    raise ConnectionError("try later")',
  '',
  '@task',
  'def nap(seconds):',
  '    time.sleep(seconds)',
  '',
  'run()',
].join('\n');

before(async () => {
  if (skip) return;
  site = new Site('stem-console-actions-', { 'stem.toml': MANIFEST, 'tasks.py': TASKS });
  base = await site.serve('serve.log');
  guarded = await site.serve('serve-tokens.log', { STEM_API_TOKENS: 'adm-token:admin,read-token:read' });
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close();
  if (site) site.stop();
});

const rowIds = (page, table) => page.locator(`#${table} tbody tr td a[href^="/ui/tasks/"]`).allInnerTexts();
const flashSays = (page, re) => until(`the flash to say ${re}`, async () => re.test(await page.locator('#flash').innerText()));

test('a queue page lists waiting and scheduled tasks, flags no consumer, revokes the picked ones', { skip }, async () => {
  const low = site.enqueue('echo', [1]);
  const high = site.enqueue('echo', [2], ['--priority', '5']);
  const doomed = site.enqueue('echo', [3]);
  const later = site.enqueue('echo', [4], ['--countdown', '1h']);
  const page = await newPage(browser);
  await page.goto(`${base}/ui/queues`);
  assert.equal(await page.locator('#queues .no-consumer').count(), 1, 'the queue no worker consumes is flagged');
  await page.locator('#queues a', { hasText: 'default' }).click();
  await page.waitForURL('**/ui/queues/default');
  assert.match(await page.locator('#consumers').innerText(), /no live worker consumes this queue/);
  assert.deepEqual(await rowIds(page, 'queued-waiting'), [high, low, doomed], 'waiting: priority first, then oldest');
  await page.screenshot({ path: path.join(ARTIFACTS, 'queue-waiting.png'), fullPage: true });
  await page.locator(`#queued-waiting input.pick[value="${doomed}"]`).check();
  await page.locator('button[data-bulk="revoke"]').click();
  await flashSays(page, /Revoke: 1 done/);
  assert.match(page.dialogs.pop(), /Revoke the selected tasks\? .*\(1 selected\)/);
  await page.locator('#tab-scheduled').click();
  await page.waitForURL('**/ui/queues/default?state=scheduled');
  assert.deepEqual(await rowIds(page, 'queued-scheduled'), [later]);
  assert.match(await page.locator('#queued-scheduled tbody tr').innerText(), /\(in (59 min|1\.0 h)\)/);
  assert.deepEqual(page.failed, []);

  worker = site.start(['worker', '--heartbeat', '500ms', '--concurrency', '2'], 'worker.log');
  await until('the waiting tasks to run', () => (site.record(low) || {}).state === 'success' && (site.record(high) || {}).state === 'success');
  await until('the revoked task to be skipped', () => (site.record(doomed) || {}).state === 'revoked');
  await page.goto(`${base}/ui/queues/default`);
  await until('the consumer to show', async () => /1 live worker consumes it/.test(await page.locator('#consumers').innerText()));
  await page.close();
});

test('leased tasks show their worker; a running task is terminated from the task list', { skip }, async () => {
  const napping = site.enqueue('nap', [120]);
  await until('the nap to start', () => (site.record(napping) || {}).state === 'started');
  const page = await newPage(browser);
  await page.goto(`${base}/ui/queues/default?state=leased`);
  const row = page.locator('#queued-leased tbody tr', { hasText: napping });
  await row.waitFor();
  assert.match(await row.innerText(), /stem-|[a-z0-9]/, 'the worker holding it is named');
  await page.goto(`${base}/ui/tasks?state=started`);
  await page.locator(`#tasks input.pick[value="${napping}"]`).check();
  await page.locator('button[data-bulk="terminate"]').click();
  await flashSays(page, /Terminate: 1 done/);
  await until('the nap to be terminated', () => (site.record(napping) || {}).state === 'revoked');
  assert.deepEqual(page.failed, []);
  await page.close();
});

test('a retrying task waits with its attempt; failed tasks are retried and deleted in bulk', { skip }, async () => {
  const flaky = site.enqueue('flaky', []);
  await until('the first failure to be retried', () => (site.record(flaky) || {}).state === 'retry');
  const page = await newPage(browser);
  await page.goto(`${base}/ui/queues/default?state=retrying`);
  const row = page.locator('#queued-retrying tbody tr', { hasText: flaky });
  await row.waitFor();
  assert.match(await row.innerText(), /\t2\t/, 'the next attempt is 2');
  const booms = [0, 1, 2].map(() => site.enqueue('boom', []));
  await until('three failures', () => booms.every((id) => (site.record(id) || {}).state === 'failure'));
  await page.goto(`${base}/ui/tasks?task=boom&state=failure`);
  await page.locator('#pick-all').check();
  await page.locator('button[data-bulk="retry"]').click();
  await flashSays(page, /Retry: 3 done/);
  const all = () => site.json(['tasks', 'list', '--task', 'boom', '--limit', '0']);
  await until('the three retries to fail too', () => all().length === 6 && all().every((r) => r.state === 'failure'));
  await page.goto(`${base}/ui/tasks?task=boom`);
  assert.equal(await page.locator('#tasks tbody tr').count(), 6);
  await page.locator('#pick-all').check();
  await page.screenshot({ path: path.join(ARTIFACTS, 'tasks-bulk.png'), fullPage: true });
  await page.locator('button[data-bulk="delete"]').click();
  await flashSays(page, /Delete records: 6 done/);
  assert.deepEqual(all(), [], 'the records are gone');
  site.stem(['revoke', flaky]);
  assert.deepEqual(page.failed, []);
  await page.close();
});

test('the task list pages by cursor', { skip }, async () => {
  const lines = Array.from({ length: 120 }, (_, i) => JSON.stringify({ task: 'echo', args: ['page', i] })).join('\n');
  const sent = site.json(['enqueue', '--stdin'], lines).ids;
  const done = () => site.json(['tasks', 'list', '--task', 'echo', '--limit', '0']).map((r) => r.id);
  const succeeded = () => site.json(['tasks', 'list', '--task', 'echo', '--state', 'success', '--limit', '0']).map((r) => r.id);
  await until('120 tasks to run', () => sent.every((id) => succeeded().includes(id)), 120000);
  const page = await newPage(browser);
  await page.goto(`${base}/ui/tasks?task=echo`);
  const seen = [];
  for (;;) {
    const ids = await rowIds(page, 'tasks');
    assert.ok(ids.length <= 50, 'a page holds at most 50');
    seen.push(...ids);
    if (await page.locator('#older').count() === 0) break;
    await page.locator('#older').click();
    await page.waitForURL(/after=/);
    await page.locator('#newest').waitFor();
  }
  assert.equal(new Set(seen).size, seen.length, 'no record on two pages');
  assert.deepEqual([...seen].sort(), done().sort(), 'every record on some page');
  await page.locator('#newest').click();
  await page.waitForURL((u) => !u.search.includes('after='));
  assert.equal((await rowIds(page, 'tasks'))[0], seen[0]);
  assert.deepEqual(page.failed, []);
  await page.close();
});

test('a schedule is run now, disabled and enabled from its page', { skip }, async () => {
  require('fs').writeFileSync(path.join(site.dir, 'sched.toml'),
    '[schedules.hourly]\ntask = "echo"\nevery = "1h"\nargs = ["from-schedule"]\n');
  site.stem(['schedule', 'apply', 'sched.toml']);
  const page = await newPage(browser);
  await page.goto(`${base}/ui/schedules`);
  await page.locator('#schedules button', { hasText: 'Run now' }).click();
  await page.waitForURL(/\/ui\/tasks\/[^/]+$/);
  const id = await page.locator('#task-id').innerText();
  await until('the scheduled task to run', () => (site.record(id) || {}).state === 'success');
  assert.deepEqual(site.record(id).result, ['from-schedule']);
  await page.goto(`${base}/ui/schedules`);
  const enabled = () => page.locator('#schedules tbody tr td:nth-child(4)').innerText();
  await page.locator('#schedules button', { hasText: 'Disable' }).click();
  await until('disabled', async () => (await enabled()) === 'no');
  assert.equal(site.json(['schedule', 'show', 'hourly']).enabled, false);
  await page.locator('#schedules button', { hasText: 'Enable' }).click();
  await until('enabled', async () => (await enabled()) === 'yes');
  assert.equal(site.json(['schedule', 'show', 'hourly']).enabled, true);
  assert.deepEqual(page.failed, []);
  await page.close();
});

test('the stats page has per-task figures and latency charts with axes', { skip }, async () => {
  const page = await newPage(browser);
  await page.goto(`${base}/ui/stats`);
  const echo = page.locator('#task-stats tbody tr', { hasText: 'echo' });
  const cells = await echo.locator('td').allInnerTexts();
  assert.ok(Number(cells[1]) >= 120, `records counted: ${cells}`);
  assert.match(cells[5], /\d+(\.\d)? (ms|s)/, 'run p50 with a unit');
  assert.equal(cells[4], '0.0%', 'echo never fails');
  const boom = await page.locator('#task-stats tbody tr', { hasText: 'flaky' }).locator('td').allInnerTexts();
  assert.equal(boom[0], 'flaky');
  for (const chart of ['#run-latency', '#wait-latency']) {
    const text = await page.locator(chart).textContent();
    assert.match(text, /UTC/, `${chart} has a time axis`);
    assert.match(text, / ms| s/, `${chart} has a unit`);
    assert.ok(await page.locator(`${chart} circle.p50`).count() > 0, `${chart} has points`);
  }
  await page.screenshot({ path: path.join(ARTIFACTS, 'stats.png'), fullPage: true });
  const api = await (await page.request.get(`${base}/v1/stats/tasks?since=1h&task=echo`)).json();
  assert.equal(api.tasks.length, 1);
  assert.ok(api.tasks[0].run_time.samples >= 120);
  assert.deepEqual(page.failed, []);
  await page.close();
});

test('a worker is paused, resumed and shut down warm from the workers page', { skip }, async () => {
  const page = await newPage(browser);
  await page.goto(`${base}/ui/workers`);
  await page.locator('#workers button', { hasText: 'Pause' }).click();
  await flashSays(page, /Pause: done/);
  await until('the pause to show', async () => (await page.locator('#paused').count()) === 1);
  const held = site.enqueue('echo', ['held']);
  const listed = async (state) => (await (await page.request.get(`${base}/v1/queues/default/tasks?state=${state}`)).json()).tasks;
  // Even the fetch that was already waiting when the pause came gives the task back.
  await until('the task to wait in its queue', async () => (await listed('waiting')).some((t) => t.id === held));
  assert.equal(site.record(held).state, 'pending', 'not run while paused');
  await page.locator('#workers button', { hasText: 'Resume' }).click();
  await until('the held task to run after the resume', () => (site.record(held) || {}).state === 'success');
  await page.screenshot({ path: path.join(ARTIFACTS, 'workers.png'), fullPage: true });
  await page.locator('#workers button', { hasText: 'Shutdown' }).click();
  await until('the worker to exit', () => worker.exitCode !== null);
  assert.equal(worker.exitCode, 0, 'a warm shutdown exits cleanly');
  assert.deepEqual(page.failed, []);
  await page.close();
});

test('a read token sees none of the actions, and the API refuses them', { skip }, async () => {
  for (const [token, admin] of [['read-token', false], ['adm-token', true]]) {
    const context = await browser.newContext();
    await context.addCookies([{ name: 'stem_token', value: token, url: guarded }]);
    const page = await newPage(context);
    let actions = 0;
    for (const url of ['/ui/queues', '/ui/queues/default', '/ui/tasks', '/ui/schedules', '/ui/dead-letters']) {
      await page.goto(`${guarded}${url}`);
      actions += await page.locator('main button[data-post], main button[data-bulk], main [data-replay-picked], main input.pick').count();
    }
    if (admin) assert.ok(actions > 0, 'an admin sees actions');
    else assert.equal(actions, 0, 'a read token sees no action');
    const res = await page.request.post(`${guarded}/v1/bulk/tasks`, {
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      data: { action: 'delete', ids: ['x'] },
    });
    assert.equal(res.status(), admin ? 200 : 403, token);
    await context.close();
  }
});
