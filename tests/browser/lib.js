// Shared by the dashboard's browser tests: a temporary folder with a manifest, the real `stem`
// binary run there (one-shot commands, long-running servers and workers), a deadline poll, and a
// page that records every failed request. Chromium is Debian's (headless), driven by
// playwright-core; without it the tests skip, unless CI=true, where they fail.
'use strict';

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

/// A folder with `files` written into it, and the commands run there on its own SQLite store.
class Site {
  constructor(prefix, files) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(this.dir, name), text);
    this.env = { ...process.env, STEM_BROKER_URL: `sqlite://${path.join(this.dir, 'stem.db')}`, PYTHONPATH: path.join(ROOT, 'sdk-python') };
    for (const k of ['STEM_RESULT_BACKEND_URL', 'STEM_NAMESPACE', 'STEM_API_TOKENS', 'STEM_MANIFEST']) delete this.env[k];
    this.procs = [];
  }

  stem(args, input) {
    return execFileSync(STEM, args, { cwd: this.dir, env: this.env, encoding: 'utf8', input });
  }

  json(args, input) {
    return JSON.parse(this.stem([...args, '--json'], input));
  }

  enqueue(task, args, extra = []) {
    return this.json(['enqueue', task, '--args', JSON.stringify(args), ...extra]).id;
  }

  record(id) {
    try {
      return this.json(['result', id]);
    } catch (e) {
      return null;
    }
  }

  start(args, logName, extraEnv = {}) {
    const log = fs.openSync(path.join(this.dir, logName), 'w');
    const p = spawn(STEM, args, { cwd: this.dir, env: { ...this.env, ...extraEnv }, stdio: ['ignore', 'pipe', log] });
    this.procs.push(p);
    return p;
  }

  /// `stem serve` on a free port; resolves to its base URL.
  serve(logName, extraEnv) {
    const p = this.start(['serve', '--listen', '127.0.0.1:0'], logName, extraEnv);
    return new Promise((resolve, reject) => {
      let out = '';
      p.stdout.on('data', (c) => {
        out += c;
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      p.on('exit', () => reject(new Error(`stem serve exited: ${fs.readFileSync(path.join(this.dir, logName), 'utf8')}`)));
    });
  }

  stop() {
    for (const p of this.procs) p.kill('SIGTERM');
    this.procs = [];
  }
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

/// A page that records every failed request (4xx/5xx answers and network failures) and accepts
/// every confirmation dialog.
async function newPage(browserOrContext) {
  const page = await browserOrContext.newPage({ viewport: { width: 1280, height: 900 } });
  page.failed = [];
  page.on('response', (r) => { if (r.status() >= 400) page.failed.push(`${r.status()} ${r.url()}`); });
  page.on('requestfailed', (r) => {
    // The event stream is cut when the page goes away: not a failure of the page.
    if (!(r.url().endsWith('/v1/events') && /ABORTED/.test(r.failure().errorText))) {
      page.failed.push(`${r.failure().errorText} ${r.url()}`);
    }
  });
  page.dialogs = [];
  page.on('dialog', (d) => { page.dialogs.push(d.message()); d.accept(); });
  return page;
}

async function launch() {
  const { chromium } = require('playwright-core');
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}

module.exports = { ROOT, STEM, ARTIFACTS, CHROMIUM, PATIENCE, Site, until, newPage, launch, skip: !CHROMIUM && 'no chromium' };
