// A hostile page in a real browser against a tokenless `stem serve` on loopback: a page served
// from another origin (a tiny HTTP server on another port) posts to the API every way a page
// can — a "simple" text/plain fetch without CORS, a JSON fetch (preflighted), a form — and no
// task is created; the dashboard itself, under its Content-Security-Policy, still acts (pausing
// a queue through its own button) with no policy violation. Without chromium the test skips,
// unless CI=true, where it fails.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const { spawn, execFileSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const STEM = process.env.STEM_BIN || path.join(ROOT, 'target', 'debug', 'stem');
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));

if (!CHROMIUM && process.env.CI === 'true') {
  throw new Error('chromium is not installed (apt-get install -y chromium): the dashboard tests cannot run');
}

let dir;
let env;
let serve;
let base;
let evil;
let evilBase;
let browser;

function stem(args) {
  return execFileSync(STEM, args, { cwd: dir, env, encoding: 'utf8' });
}

function taskCount() {
  return JSON.parse(stem(['tasks', 'list', '--json'])).length;
}

function queueReady() {
  const q = JSON.parse(stem(['observe', 'queues', '--queues', 'default', '--json'])).default || {};
  return (q.ready || 0) + (q.delayed || 0);
}

before(async () => {
  if (!CHROMIUM) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stem-cross-origin-'));
  env = { ...process.env, STEM_BROKER_URL: `sqlite://${path.join(dir, 'stem.db')}` };
  for (const k of ['STEM_RESULT_BACKEND_URL', 'STEM_NAMESPACE', 'STEM_API_TOKENS', 'STEM_MANIFEST']) delete env[k];
  serve = spawn(STEM, ['serve', '--listen', '127.0.0.1:0'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'ignore'] });
  base = await new Promise((resolve, reject) => {
    let out = '';
    serve.stdout.on('data', (c) => {
      out += c;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    serve.on('exit', () => reject(new Error('stem serve exited')));
  });
  // The attacker's page, on another port of the same machine (another origin, same site).
  const page = `<!doctype html><html><body><form id="f" method="post" action="${base}/v1/tasks" enctype="text/plain">
<input name='{"task": "evil", "args": [], "x": "' value='"}'></form><script>
window.attempts = (async () => {
  const out = [];
  const spec = JSON.stringify({ task: 'evil', args: [1] });
  try { await fetch('${base}/v1/tasks', { method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body: spec }); out.push('simple: sent'); } catch (e) { out.push('simple: ' + e.message); }
  try { const r = await fetch('${base}/v1/tasks', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: spec }); out.push('json: ' + r.status); } catch (e) { out.push('json: blocked'); }
  try { await fetch('${base}/v1/queues/default/pause', { method: 'POST', mode: 'no-cors' }); out.push('pause: sent'); } catch (e) { out.push('pause: ' + e.message); }
  try { const r = await fetch('${base}/v1/tasks'); out.push('read: ' + r.status); } catch (e) { out.push('read: blocked'); }
  return out;
})();
</script></body></html>`;
  evil = http.createServer((req, res) => { res.writeHead(200, { 'Content-Type': 'text/html' }); res.end(page); });
  await new Promise((r) => evil.listen(0, '127.0.0.1', r));
  evilBase = `http://127.0.0.1:${evil.address().port}`;
  const { chromium } = require('playwright-core');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

after(async () => {
  if (browser) await browser.close();
  if (evil) evil.close();
  if (serve) serve.kill('SIGTERM');
});

test('a page from another origin cannot create a task or pause a queue', { skip: !CHROMIUM && 'no chromium' }, async () => {
  const page = await browser.newPage();
  await page.goto(`${evilBase}/`);
  const attempts = await page.evaluate(() => window.attempts);
  assert.ok(!attempts.includes('json: 200'), `a preflighted JSON post went through: ${attempts}`);
  assert.ok(!attempts.includes('read: 200'), `a cross-origin read went through: ${attempts}`);
  // The form post navigates the page to the API's answer: a refusal.
  const [answer] = await Promise.all([page.waitForNavigation(), page.evaluate(() => document.getElementById('f').submit())]);
  assert.equal(answer.status(), 403, await answer.text());
  await page.close();
  assert.equal(taskCount(), 0, 'no task record');
  assert.equal(queueReady(), 0, 'nothing published');
  const q = JSON.parse(stem(['observe', 'queues', '--queues', 'default', '--json'])).default || {};
  assert.ok(!q.paused, `the queue was paused: ${JSON.stringify(q)}`);
});

test('the dashboard acts under its own policy with no violation', { skip: !CHROMIUM && 'no chromium' }, async () => {
  stem(['enqueue', 'nobody_runs_this']);
  const page = await browser.newPage();
  const violations = [];
  page.on('console', (m) => { if (/Content Security Policy|Refused to/.test(m.text())) violations.push(m.text()); });
  page.on('dialog', (d) => d.accept());
  const res = await page.goto(`${base}/ui/queues`);
  assert.match(res.headers()['content-security-policy'] || '', /default-src 'self'/);
  const pause = page.locator('button', { hasText: 'Pause' }).first();
  await pause.waitFor({ timeout: 30000 });
  await pause.click();
  await page.waitForFunction(() => /paused/i.test(document.getElementById('main').innerText), null, { timeout: 30000 });
  assert.deepEqual(violations, []);
  await page.close();
});
