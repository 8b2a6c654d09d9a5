// The workflows pages in a real browser: Debian's headless chromium, driven with playwright-core,
// against a real tokenless `stem serve` (so the viewer is an admin) and a real worker running
// Python workflows on one SQLite file, runs started with `stem wf start`. The runs page counts
// runs by state, filters by state and lists the runs waiting for events; a run's page shows its
// steps as a timeline that follows the run without a reload (an emitted event completes it),
// "Rewind here" runs a step again and "Cancel" stops a running run; a run id and a topic
// carrying markup render as text. Screenshots go to target/browser-artifacts/. Without
// chromium the test skips, unless CI=true, where it fails.
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

function startRun(workflow, args, id) {
  const cmd = ['wf', 'start', workflow, '--json', '--args', JSON.stringify(args)];
  if (id) cmd.push('--id', id);
  return JSON.parse(stem(cmd)).run;
}

function show(run) {
  return JSON.parse(stem(['wf', 'show', run, '--json']));
}

function waiting(run, topic) {
  return JSON.parse(stem(['wf', 'waiters', '--topic', topic, '--json'])).some((w) => w.run === run);
}

function spawnStem(args, logName) {
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

before(async () => {
  if (!CHROMIUM) return;
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stem-workflows-'));
  fs.writeFileSync(path.join(dir, 'stem.toml'), [
    '[runtimes.python]', 'command = ["python3", "flows.py"]', 'isolation = "pool"', '',
    '[tasks.add]', 'runtime = "python"', '',
    '[workflows.order]', 'runtime = "python"', 'time_limit = "150s"', '',
    '[workflows.slow]', 'runtime = "python"', 'time_limit = "150s"', '',
  ].join('\n'));
  fs.writeFileSync(path.join(dir, 'flows.py'), [
    'import os, time',
    'from stem_sdk import run, task, workflow',
    '',
    'HERE = os.path.dirname(os.path.abspath(__file__))',
    '',
    'def note(line):',
    '    with open(os.path.join(HERE, "effects.txt"), "a") as f:',
    '        f.write(line + "\\n")',
    '    return line',
    '',
    '@task("add")',
    'def add(a, b):',
    '    return a + b',
    '',
    '@workflow("order")',
    'def order(ctx, oid):',
    '    charged = ctx.step("charge", lambda: 42)',
    '    total = ctx.call("add", [charged, 8])',
    '    ctx.sleep("cool_off", 0.2)',
    '    ev = ctx.wait_for_event("shipped", "shipment." + oid, timeout=120)',
    '    ctx.step("done", note, "done " + oid)',
    '    return {"total": total, "tracking": ev.payload["tracking"]}',
    '',
    '@workflow("slow")',
    'def slow(ctx):',
    '    ctx.step("nap", lambda: time.sleep(120))',
    '    return "woke"',
    '',
    'run()',
  ].join('\n'));
  env = { ...process.env, STEM_BROKER_URL: `sqlite://${path.join(dir, 'stem.db')}`, PYTHONPATH: path.join(ROOT, 'sdk-python') };
  for (const k of ['STEM_RESULT_BACKEND_URL', 'STEM_NAMESPACE', 'STEM_API_TOKENS', 'STEM_MANIFEST']) delete env[k];
  spawnStem(['worker', '--heartbeat', '500ms', '--concurrency', '3'], 'worker.log');
  const serve = spawnStem(['serve', '--listen', '127.0.0.1:0'], 'serve.log');
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

const stepRow = (page, name) => page.locator('#steps tbody tr', { has: page.locator(`td:text-is("${name}")`) });

test('the runs page counts runs by state, filters them and lists the waiters', { skip: !CHROMIUM && 'no chromium' }, async () => {
  const run = startRun('order', ['b1']);
  await until('the run to wait for its event', () => waiting(run, 'shipment.b1'));
  const page = await newPage();
  await page.goto(`${base}/`);
  await page.click('header nav a:text-is("Workflows")');
  await page.waitForURL('**/ui/workflows');
  assert.match(await page.locator('#counts a[data-state=suspended]').innerText(), /suspended\s+[1-9]/);
  const waiters = page.locator('#waiters tbody tr', { has: page.locator(`a:text-is("${run}")`) });
  assert.match(await waiters.innerText(), /shipment\.b1/);
  await page.selectOption('#filter select[name=state]', 'completed');
  await page.click('#filter button');
  await page.waitForURL('**/ui/workflows?state=completed*');
  assert.equal(await page.locator(`#runs a:text-is("${run}")`).count(), 0, 'a suspended run is not listed as completed');
  await page.selectOption('#filter select[name=state]', 'suspended');
  await page.fill('#filter input[name=name]', 'order');
  await page.click('#filter button');
  await page.waitForURL('**/ui/workflows?state=suspended&name=order');
  const row = page.locator('#runs tbody tr', { has: page.locator(`a:text-is("${run}")`) });
  assert.match(await row.innerText(), /order\s+suspended/);
  await page.screenshot({ path: path.join(ARTIFACTS, 'workflow-runs.png'), fullPage: true });
  await row.locator(`a:text-is("${run}")`).click();
  await page.waitForURL(`**/ui/workflows/${run}`);
  assert.equal(await page.locator('#run-id').innerText(), run);
  await page.close();
  stem(['wf', 'cancel', run]);
});

test("a run's page follows its steps, rewinds to a step and cancels", { skip: !CHROMIUM && 'no chromium' }, async () => {
  const run = startRun('order', ['b2']);
  await until('the run to wait for its event', () => waiting(run, 'shipment.b2'));
  const page = await newPage();
  await page.goto(`${base}/ui/workflows/${run}`);
  assert.match(await page.locator('#facts').innerText(), /suspended/);
  assert.match(await page.locator('#args').innerText(), /b2/);
  assert.match(await stepRow(page, 'charge').innerText(), /step\s+done\s+1\s+→ 42/);
  const call = stepRow(page, 'add');
  assert.match(await call.innerText(), /call\s+done/);
  const task = show(run).steps[1].target;
  assert.equal(await call.locator(`a[href="/ui/tasks/${encodeURIComponent(task)}"]`).count(), 1, 'the call links to its task');
  assert.match(await stepRow(page, 'cool_off').innerText(), /sleep\s+done.*wakes \d{4}-/s);
  assert.match(await stepRow(page, 'shipped').innerText(), /event\s+waiting.*topic shipment\.b2.*until \d{4}-/s);
  assert.equal(await page.locator('button:text-is("Cancel")').count(), 1, 'an admin may cancel a live run');
  await page.evaluate(() => { window.notReloaded = true; });
  stem(['wf', 'emit', 'shipment.b2', '--payload', '{"tracking": "T-2"}']);
  await page.waitForFunction(() => /completed/.test(document.querySelector('#facts').innerText), null, { timeout: PATIENCE });
  assert.equal(await page.evaluate(() => window.notReloaded), true, 'the page was not reloaded');
  assert.match(await page.locator('#result').innerText(), /"tracking": "T-2"/);
  assert.match(await stepRow(page, 'shipped').innerText(), /event\s+done.*tracking/s);
  assert.equal(await page.locator('button:text-is("Cancel")').count(), 0, 'an ended run has no Cancel');
  await page.screenshot({ path: path.join(ARTIFACTS, 'workflow-run.png'), fullPage: true });

  await stepRow(page, 'done').locator('button:text-is("Rewind here")').click();
  await until('the rewound step to run again', () => {
    const lines = fs.readFileSync(path.join(dir, 'effects.txt'), 'utf8').split('\n');
    return lines.filter((l) => l === 'done b2').length === 2 && show(run).state === 'completed';
  });
  assert.equal(show(run).resumes > 4, true, 'the rewind resumed the run');

  const slow = startRun('slow', []);
  await until('the nap to start', () => (show(slow).steps[0] || {}).state === 'running');
  await page.goto(`${base}/ui/workflows/${slow}`);
  assert.match(await stepRow(page, 'nap').innerText(), /step\s+running\s+1.*running/s);
  await page.click('button:text-is("Cancel")');
  await page.waitForFunction(() => /cancelled/.test(document.querySelector('#facts').innerText), null, { timeout: PATIENCE });
  assert.match(await page.locator('#error').innerText(), /Cancelled/);
  assert.equal(show(slow).state, 'cancelled');
  await page.screenshot({ path: path.join(ARTIFACTS, 'workflow-cancelled.png'), fullPage: true });
  await page.close();
});

test('a run id and a topic carrying markup render as text', { skip: !CHROMIUM && 'no chromium' }, async () => {
  const id = '<script>alert(1)</script>';
  const oid = '<img/src=x/onerror=alert(2)>';
  startRun('order', [oid], id);
  await until('the run to wait for its event', () => waiting(id, `shipment.${oid}`));
  const page = await newPage();
  for (const url of [`${base}/ui/workflows/${encodeURIComponent(id)}`, `${base}/ui/workflows`]) {
    await page.goto(url);
    assert.equal(await page.locator('main script').count(), 0, `no script element in ${url}`);
    assert.equal(await page.locator('main img').count(), 0, `no img element in ${url}`);
    assert.ok((await page.locator('main').innerText()).includes(id), `${url} shows the run id as text`);
    assert.ok((await page.locator('main').innerText()).includes(`shipment.${oid}`), `${url} shows the topic as text`);
  }
  await page.goto(`${base}/ui/workflows/${encodeURIComponent(id)}`);
  assert.equal(await page.locator('#run-id').innerText(), id);
  await page.screenshot({ path: path.join(ARTIFACTS, 'workflow-escaped.png'), fullPage: true });
  await page.close();
  stem(['wf', 'cancel', id]);
});
