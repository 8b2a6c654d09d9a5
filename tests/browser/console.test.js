// The dashboard's console in a real browser (Debian's headless chromium, playwright-core) against
// a real `stem serve` on one SQLite file: empty lists say what would be there and the command
// that makes some; no page load fails a request (the icon is served); a canvas has its own page
// and an unknown one is an HTML 404; form fields have visible labels and a task row's link is
// reached with Tab and opened with Enter; the enqueue form's labelled args and kwargs boxes send a
// task and open it; "Retry" on a task that failed for good (offered to
// admin tokens only) enqueues it again and opens the new task. Screenshots go to
// target/browser-artifacts/. Without chromium the test skips, unless CI=true, where it fails.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('path');
const lib = require('./lib');

const { ARTIFACTS, PATIENCE, until, skip } = lib;

let site;
let dir;
let browser;
let base; // tokenless
let guarded; // the same store, with an admin and a read token

const stem = (args, input) => site.stem(args, input);
const enqueue = (task, args) => site.enqueue(task, args);
const record = (id) => site.record(id);
const start = (args, logName, extraEnv) => site.start(args, logName, extraEnv);

before(async () => {
  if (skip) return;
  site = new lib.Site('stem-console-', {
    'stem.toml': [
    '[runtimes.python]', 'command = ["python3", "tasks.py"]', 'isolation = "pool"', '',
    '[defaults]', 'max_retries = 0', '',
    '[tasks.echo]', 'runtime = "python"', '',
    '[tasks.fails_once]', 'runtime = "python"', '',
  ].join('\n'),
    'tasks.py': [
    'import os',
    'from stem_sdk import run, task',
    '',
    '@task',
    'def echo(*args):',
    '    return list(args)',
    '',
    '@task',
    'def fails_once(flag):',
    '    if not os.path.exists(flag):',
    '        open(flag, "w").close()',
    '        raise RuntimeError("first time fails")',
    '    return "second time works"',
    '',
    'run()',
  ].join('\n'),
  });
  dir = site.dir;
  base = await site.serve('serve.log');
  guarded = await site.serve('serve-tokens.log', { STEM_API_TOKENS: 'adm-token:admin,read-token:read' });
  browser = await lib.launch();
});

after(async () => {
  if (browser) await browser.close();
  if (site) site.stop();
});

/// A page (of the browser, or of `context`) that records every failed request.
const newPage = (context) => lib.newPage(context || browser);

test('empty lists say what would be there and the command that makes some', { skip }, async () => {
  const page = await newPage();
  const empty = {
    '/ui/tasks': ['tasks', /No tasks yet.*stem enqueue NAME/s],
    '/ui/workers': ['workers', /No workers.*stem worker/s],
    '/ui/queues': ['queues', /No queues yet.*stem enqueue NAME/s],
    '/ui/dead-letters': ['dead-letters', /No dead letters/],
    '/ui/schedules': ['schedules', /No schedules yet.*stem schedule apply FILE/s],
    '/ui/workflows': ['runs', /No workflow runs.*stem wf start NAME/s],
    '/ui/canvases': ['canvases', /stem canvas submit FILE/],
  };
  for (const [url, [id, said]] of Object.entries(empty)) {
    await page.goto(`${base}${url}`);
    assert.match(await page.locator(`#${id}.empty`).innerText(), said, url);
    assert.equal(await page.locator('main table').count(), 0, `no empty table on ${url}`);
  }
  await page.goto(`${base}/ui/tasks`);
  await page.screenshot({ path: path.join(ARTIFACTS, 'empty-tasks.png'), fullPage: true });
  assert.deepEqual(page.failed, []);
  await page.close();
  start(['worker', '--heartbeat', '500ms', '--concurrency', '2'], 'worker.log');
});

test('no page load fails a request, the icon included', { skip }, async () => {
  const id = enqueue('echo', ['hi']);
  await until('the echo task', () => (record(id) || {}).state === 'success');
  const page = await newPage();
  for (const url of ['/', '/ui/queues', '/ui/tasks', `/ui/tasks/${id}`, '/ui/workflows', '/ui/workers',
    '/ui/dead-letters', '/ui/schedules', '/ui/canvases']) {
    await page.goto(`${base}${url}`);
  }
  assert.deepEqual(page.failed, [], 'failed requests');
  const icon = await page.request.get(`${base}/favicon.ico`);
  assert.equal(icon.status(), 200);
  assert.equal(icon.headers()['content-type'], 'image/svg+xml');
  assert.match(await icon.text(), /^<svg /);
  assert.equal(await page.locator('link[rel=icon]').getAttribute('href'), '/favicon.ico');
  // The login page of a server with tokens has the icon too, with no token needed for it.
  const login = await newPage();
  await login.goto(`${guarded}/ui/tasks`).catch(() => {});
  assert.equal((await login.request.get(`${guarded}/favicon.ico`)).status(), 200);
  assert.equal(await login.locator('label[for=token]').innerText(), 'API token');
  await login.close();
  await page.close();
});

test('a canvas has its own page; ?id= leads there; an unknown one is an HTML 404', { skip }, async () => {
  const doc = JSON.stringify({ chain: [{ task: 'echo', args: [1] }, { task: 'echo', args: [2] }] });
  const id = JSON.parse(stem(['canvas', 'submit', '-', '--json'], doc)).id;
  await until('the canvas to finish', () => JSON.parse(stem(['canvas', 'show', id, '--json'])).state === 'success');
  const page = await newPage();
  await page.goto(`${base}/ui/canvases/${encodeURIComponent(id)}`);
  assert.equal(await page.locator('#canvas-id-shown').innerText(), id);
  assert.equal(await page.locator('#nodes tbody tr').count(), 2);
  await page.goto(`${base}/ui/canvases`);
  await page.fill('#canvas-id', id);
  await page.click('#lookup button');
  await page.waitForURL(`**/ui/canvases/${encodeURIComponent(id)}`);
  assert.equal(await page.locator('#nodes tbody tr').count(), 2);
  await page.screenshot({ path: path.join(ARTIFACTS, 'canvas.png'), fullPage: true });
  const unknown = await page.goto(`${base}/ui/canvases/no-such-canvas`);
  assert.equal(unknown.status(), 404);
  assert.match(unknown.headers()['content-type'], /^text\/html/);
  assert.match(await page.locator('#unknown').innerText(), /Unknown canvas/);
  assert.equal(await page.locator('#canvas-id-shown').innerText(), 'no-such-canvas');
  assert.deepEqual(page.failed, [`404 ${base}/ui/canvases/no-such-canvas`], 'only the unknown canvas failed');
  await page.close();
});

test('form fields are labelled, and a task row opens from the keyboard', { skip }, async () => {
  const id = enqueue('echo', ['keys']);
  await until('the echo task', () => (record(id) || {}).state === 'success');
  const page = await newPage();
  for (const url of ['/ui/tasks', '/ui/dead-letters', '/ui/workflows', '/ui/canvases']) {
    await page.goto(`${base}${url}`);
    await page.locator('main details').evaluateAll((boxes) => boxes.forEach((d) => { d.open = true; }));
    const fields = await page.locator('main form input, main form select, main form textarea').evaluateAll((els) =>
      els.map((el) => {
        const label = el.id && document.querySelector(`label[for="${el.id}"]`);
        return { name: el.name, label: label ? label.textContent : null, shown: !!label && label.offsetWidth > 0 };
      }));
    assert.ok(fields.length > 0, url);
    for (const f of fields) assert.ok(f.label && f.shown, `${url}: ${f.name} has a visible label (${JSON.stringify(f)})`);
  }
  await page.goto(`${base}/ui/tasks?task=echo`);
  await page.locator(`#tasks a:text-is("${id}")`).waitFor();
  let reached = false;
  for (let i = 0; i < 80 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate((taskId) => {
      const el = document.activeElement;
      return !!el && el.tagName === 'A' && el.textContent === taskId && !!el.closest('#tasks tbody tr');
    }, id);
  }
  assert.ok(reached, 'Tab reaches the task row link');
  await page.keyboard.press('Enter');
  await page.waitForURL(`**/ui/tasks/${id}`);
  assert.equal(await page.locator('#task-id').innerText(), id);
  await page.close();
});

test('the enqueue form takes labelled args and kwargs and opens the new task', { skip }, async () => {
  const page = await newPage();
  await page.goto(`${base}/ui/tasks`);
  await page.getByText('Enqueue a task').click();
  await page.getByLabel('Task', { exact: true }).fill('echo');
  await page.getByLabel('args (JSON array)').fill('[1,');
  await page.getByRole('button', { name: 'Enqueue' }).click();
  await until('the flash to name the field', async () => /args: not JSON/.test(await page.locator('#flash').innerText()));
  assert.match(page.url(), /\/ui\/tasks$/, 'nothing was sent');
  await page.getByLabel('args (JSON array)').fill('{"a": 1}');
  await page.getByRole('button', { name: 'Enqueue' }).click();
  await until("the API's refusal", async () => /args: expected a JSON array/.test(await page.locator('#flash').innerText()));
  await page.getByLabel('args (JSON array)').fill('[3, "four"]');
  await page.getByLabel('kwargs (JSON object)').fill('{}');
  await page.screenshot({ path: path.join(ARTIFACTS, 'enqueue-form.png'), fullPage: true });
  await page.getByRole('button', { name: 'Enqueue' }).click();
  await page.waitForURL(/\/ui\/tasks\/[^/]+$/, { timeout: PATIENCE });
  const id = await page.locator('#task-id').innerText();
  await until('the enqueued task to succeed', () => (record(id) || {}).state === 'success');
  assert.deepEqual(record(id).result, [3, 'four']);
  await page.close();
});

test('Retry on a task that failed for good runs it again under a new id (admin only)', { skip }, async () => {
  const flag = path.join(dir, 'retry.flag');
  const id = enqueue('fails_once', [flag]);
  await until('the first run to fail', () => (record(id) || {}).state === 'failure');
  // A read token sees no Retry; an admin token does.
  for (const [token, shown] of [['read-token', 0], ['adm-token', 1]]) {
    const context = await browser.newContext();
    await context.addCookies([{ name: 'stem_token', value: token, url: guarded }]);
    const page = await newPage(context);
    await page.goto(`${guarded}/ui/tasks/${id}`);
    assert.equal(await page.locator('#task-id').innerText(), id);
    assert.equal(await page.locator('button', { hasText: 'Retry' }).count(), shown, token);
    await page.goto(`${guarded}/ui/tasks`);
    assert.equal(await page.locator('form#enqueue').count(), shown, `the enqueue form for ${token}`);
    await context.close();
  }
  const page = await newPage();
  await page.goto(`${base}/ui/tasks/${id}`);
  await page.screenshot({ path: path.join(ARTIFACTS, 'retry-before.png'), fullPage: true });
  await page.locator('button', { hasText: 'Retry' }).click();
  await page.waitForURL((u) => u.pathname.startsWith('/ui/tasks/') && !u.pathname.endsWith(`/${id}`), { timeout: PATIENCE });
  const fresh = await page.locator('#task-id').innerText();
  assert.notEqual(fresh, id);
  await until('the retried task to succeed', () => (record(fresh) || {}).state === 'success');
  await page.locator('#result').waitFor({ timeout: PATIENCE });
  assert.match(await page.locator('#result').innerText(), /second time works/);
  assert.equal(await page.locator('button', { hasText: 'Retry' }).count(), 0, 'no Retry on a success');
  const again = record(fresh);
  assert.deepEqual([again.name, again.args, again.queue], ['fails_once', [flag], 'default']);
  assert.equal(record(id).state, 'failure', 'the failed task stays as it was');
  await page.screenshot({ path: path.join(ARTIFACTS, 'retry-after.png'), fullPage: true });
  assert.deepEqual(page.failed, []);
  await page.close();
});
