// The dashboard in a real browser: Debian's headless chromium, driven with playwright-core,
// against a real `stem serve` and a real worker running Python tasks on one SQLite file. The
// overview shows the fleet's queues and workers; a failed task's page shows its traceback;
// "Replay" on a dead letter brings it back and the page updates without a reload; an argument
// `<script>alert(1)</script>` renders as text. Screenshots go to target/browser-artifacts/.
// Without chromium the test skips, unless CI=true, where it fails.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn, execFileSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const STEM = process.env.STEM_BIN || path.join(ROOT, 'target', 'debug', 'stem');
const ARTIFACTS = path.join(ROOT, 'target', 'browser-artifacts');
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
const PATIENCE = 60000;

if (!CHROMIUM && process.env.CI === 'true') {
  throw new Error('chromium is not installed (apt-get install -y chromium): the dashboard tests cannot run');
}

let dir;
let env;
let procs = [];
let browser;
let base;

function stem(args) {
  return execFileSync(STEM, args, { cwd: dir, env, encoding: 'utf8' });
}

function enqueue(task, args) {
  return JSON.parse(stem(['enqueue', task, '--json', '--args', JSON.stringify(args)])).id;
}

function start(args, logName) {
  const log = fs.openSync(path.join(dir, logName), 'w');
  const p = spawn(STEM, args, { cwd: dir, env, stdio: ['ignore', 'pipe', log] });
  procs.push(p);
  return p;
}

async function until(what, check, within = PATIENCE) {
  const deadline = Date.now() + within;
  for (;;) {
    const got = await check();
    if (got) return got;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function record(id) {
  try {
    return JSON.parse(stem(['result', id, '--json']));
  } catch (e) {
    return null;
  }
}

before(async () => {
  if (!CHROMIUM) return;
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stem-dashboard-'));
  fs.writeFileSync(path.join(dir, 'stem.toml'), [
    '[runtimes.python]', 'command = ["python3", "tasks.py"]', 'isolation = "pool"', '',
    '[defaults]', 'max_retries = 0', '',
    '[tasks.echo]', 'runtime = "python"', '',
    '[tasks.boom]', 'runtime = "python"', '',
    '[tasks.fails_once]', 'runtime = "python"', '',
  ].join('\n'));
  fs.writeFileSync(path.join(dir, 'tasks.py'), [
    'import os',
    'from stem_sdk import run, task',
    '',
    '@task',
    'def echo(*args):',
    '    return list(args)',
    '',
    '@task',
    'def boom(why):',
    '    raise ValueError("boom: " + why)',
    '',
    '@task',
    'def fails_once(flag):',
    '    if not os.path.exists(flag):',
    '        open(flag, "w").close()',
    '        raise RuntimeError("first time fails")',
    '    return "second time works"',
    '',
    'run()',
  ].join('\n'));
  env = { ...process.env, STEM_BROKER_URL: `sqlite://${path.join(dir, 'stem.db')}`, PYTHONPATH: path.join(ROOT, 'sdk-python') };
  for (const k of ['STEM_RESULT_BACKEND_URL', 'STEM_NAMESPACE', 'STEM_API_TOKENS', 'STEM_MANIFEST']) delete env[k];
  start(['worker', '--heartbeat', '500ms', '--concurrency', '2'], 'worker.log');
  const serve = start(['serve', '--listen', '127.0.0.1:0'], 'serve.log');
  base = await new Promise((resolve, reject) => {
    let out = '';
    serve.stdout.on('data', (c) => {
      out += c;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    serve.on('exit', () => reject(new Error(`stem serve exited: ${fs.readFileSync(path.join(dir, 'serve.log'), 'utf8')}`)));
  });
  const { chromium } = require('playwright-core');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

after(async () => {
  if (browser) await browser.close();
  for (const p of procs) p.kill('SIGTERM');
  procs = [];
});

async function newPage() {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('dialog', async (d) => {
    if (d.type() === 'alert') throw new Error(`an alert ran: ${d.message()}`);
    await d.accept();
  });
  return page;
}

test('the overview shows the queues and workers of a running fleet', { skip: !CHROMIUM && 'no chromium' }, async () => {
  const id = enqueue('echo', [1, 2]);
  await until('the echo task', () => (record(id) || {}).state === 'success');
  const page = await newPage();
  await page.goto(`${base}/`);
  await page.waitForFunction(() => document.querySelector('#workers tbody td') && !document.querySelector('#workers td.none'),
    null, { timeout: PATIENCE });
  const queues = await page.locator('#queues').innerText();
  assert.match(queues, /default/);
  const workers = await page.locator('#workers').innerText();
  assert.match(workers, /default/);
  assert.match(await page.locator('#alive').innerText(), /1 alive/);
  assert.equal(await page.locator('#throughput').count(), 1, 'the throughput chart is drawn');
  // The chart's history is in the store: the worker flushes its counts every few seconds.
  await until('the chart to count the task', async () => {
    await page.reload();
    return Number(await page.locator('#hour-ok').innerText()) >= 1;
  });
  await page.screenshot({ path: path.join(ARTIFACTS, 'overview.png'), fullPage: true });
  await page.close();
});

test("a failed task's page shows its traceback", { skip: !CHROMIUM && 'no chromium' }, async () => {
  const id = enqueue('boom', ['on purpose']);
  await until('the boom task to fail', () => (record(id) || {}).state === 'failure');
  const page = await newPage();
  await page.goto(`${base}/ui/tasks`);
  await page.fill('input[name=id]', id);
  await page.click('#search button');
  await page.waitForURL(`**/ui/tasks/${id}`);
  const tb = await page.locator('#traceback').innerText();
  assert.match(tb, /Traceback/);
  assert.match(tb, /ValueError: boom: on purpose/);
  assert.match(await page.locator('#error').innerText(), /ValueError/);
  await page.screenshot({ path: path.join(ARTIFACTS, 'failed-task.png'), fullPage: true });
  await page.close();
});

test('replay on a dead letter brings it back and the page updates without a reload', { skip: !CHROMIUM && 'no chromium' }, async () => {
  const flag = path.join(dir, 'fails-once.flag');
  const id = enqueue('fails_once', [flag]);
  await until('the first run to fail', () => (record(id) || {}).state === 'failure');
  const page = await newPage();
  await page.goto(`${base}/ui/dead-letters?queue=default`);
  const row = page.locator('tr', { has: page.locator(`a:text-is("${id}")`) });
  await row.waitFor({ timeout: PATIENCE });
  await page.evaluate(() => { window.notReloaded = true; });
  await page.screenshot({ path: path.join(ARTIFACTS, 'dead-letters-before.png'), fullPage: true });
  await row.locator('button', { hasText: 'Replay' }).click();
  await page.waitForFunction((taskId) => ![...document.querySelectorAll('a')].some((a) => a.textContent === taskId),
    id, { timeout: PATIENCE });
  assert.equal(await page.evaluate(() => window.notReloaded), true, 'the page was not reloaded');
  await until('the replayed task to succeed', () => (record(id) || {}).state === 'success');
  await page.screenshot({ path: path.join(ARTIFACTS, 'dead-letters-after.png'), fullPage: true });
  await page.goto(`${base}/ui/tasks/${id}`);
  assert.match(await page.locator('#result').innerText(), /second time works/);
  await page.close();
});

test('an argument <script>alert(1)</script> renders as text', { skip: !CHROMIUM && 'no chromium' }, async () => {
  const evil = '<script>alert(1)</script>';
  const id = enqueue('echo', [evil, '<img src=x onerror=alert(2)>']);
  await until('the echo task', () => (record(id) || {}).state === 'success');
  const page = await newPage();
  for (const url of [`${base}/ui/tasks/${id}`, `${base}/ui/tasks?task=${encodeURIComponent(evil)}`, `${base}/`]) {
    await page.goto(url);
    assert.equal(await page.locator('main script').count(), 0, `no script element in ${url}`);
    assert.equal(await page.locator('main img').count(), 0, `no img element in ${url}`);
  }
  await page.goto(`${base}/ui/tasks/${id}`);
  const args = await page.locator('#args').innerText();
  assert.ok(args.includes(evil), args);
  await page.screenshot({ path: path.join(ARTIFACTS, 'escaped-args.png'), fullPage: true });
  await page.close();
});
