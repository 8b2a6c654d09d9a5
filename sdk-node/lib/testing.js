// Testing helpers (`@stem/sdk/testing`): `runTask` calls a task's handler eagerly, in the test's
// process, with a context that records what it reports (progress, logs, heartbeats) and a soft
// limit that can be simulated; its outcome — a value, a retry it asked for, a failure — comes
// back as a value. `startWorker` runs a real `stem worker` on a temporary embedded store and
// gives a Client bound to it, for tests that go through the queue (node:test or any runner).
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, execFile } = require('node:child_process');
const { randomUUID } = require('node:crypto');
const { Context } = require('./context');
const { lookup, taskNames } = require('./registry');
const { Retry, SoftTimeLimitExceeded, toErrorPayload } = require('./errors');
const { Client } = require('./client');

/** A context that keeps what the task reports instead of writing protocol lines. */
class RecordingContext extends Context {
  constructor(message, signal, sink) {
    super(message, signal);
    this.taskName = message.name;
    Object.defineProperty(this, 'recorded', { value: sink });
  }

  progress(value) {
    const encoded = JSON.stringify(value === undefined ? null : value);
    if (encoded === undefined) throw new TypeError('progress must be a JSON-serializable value');
    this.recorded.progress.push(JSON.parse(encoded));
  }

  heartbeat() {
    this.recorded.heartbeats += 1;
  }

  log(message, level = 'info') {
    this.recorded.logs.push([String(level), String(message)]);
  }
}

/** What one eager call of a task did (see runTask). */
class TaskRun {
  constructor(state, value, thrown, error, recorded) {
    /** `'success'`, `'retry'` (the handler threw Retry) or `'failure'`. */
    this.state = state;
    this.value = value;
    /** What the handler threw, as thrown. */
    this.thrown = thrown;
    /** The protocol error object the worker would record (type, message, traceback, retryable, types, countdown). */
    this.error = error;
    this.progress = recorded.progress;
    this.logs = recorded.logs;
    this.heartbeats = recorded.heartbeats;
  }

  get succeeded() {
    return this.state === 'success';
  }

  get retried() {
    return this.state === 'retry';
  }

  get failed() {
    return this.state === 'failure';
  }

  /** The delay a Retry asked for, in seconds (undefined: the manifest's policy). */
  get countdown() {
    return this.error ? this.error.countdown : undefined;
  }

  /** False for Fatal (the worker would not retry it, whatever its policy). */
  get retryable() {
    return Boolean(this.error && this.error.retryable);
  }

  /** The value; throws what the handler threw. */
  get() {
    if (this.state !== 'success') throw this.thrown;
    return this.value;
  }
}

function resolve(fnOrName) {
  if (typeof fnOrName === 'string') {
    const entry = lookup(fnOrName);
    if (entry === undefined) {
      throw new Error(`no task named '${fnOrName}' is registered (registered: ${taskNames().join(', ') || 'none'})`);
    }
    if (entry.workflow) throw new TypeError(`'${fnOrName}' is a workflow: run it on a worker (startWorker)`);
    return { name: fnOrName, fn: entry.fn };
  }
  if (typeof fnOrName !== 'function') throw new TypeError(`runTask takes a handler or a registered task name, got ${typeof fnOrName}`);
  return { name: fnOrName.name || 'task', fn: fnOrName };
}

/**
 * Call task `fnOrName` (a handler or a registered name) as `fn(ctx, ...args)` in this process.
 * Options: `kwargs`, `attempt` (1), `retriesLeft` (0), `queue`, `headers`, `id`, and
 * `softLimitAfter` (seconds: `ctx.signal` aborts with SoftTimeLimitExceeded then, as at the
 * worker's soft signal). Resolves to a TaskRun; never rejects for what the handler throws.
 */
async function runTask(fnOrName, args = [], options = {}) {
  const { name, fn } = resolve(fnOrName);
  if (!Array.isArray(args)) throw new TypeError('runTask: args must be an array');
  const attempt = options.attempt === undefined ? 1 : options.attempt;
  const retriesLeft = options.retriesLeft === undefined ? 0 : options.retriesLeft;
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`runTask: attempt must be an integer of at least 1, got ${attempt}`);
  if (!Number.isInteger(retriesLeft) || retriesLeft < 0) throw new RangeError(`runTask: retriesLeft must be an integer of at least 0, got ${retriesLeft}`);
  const after = options.softLimitAfter;
  if (after !== undefined && !(typeof after === 'number' && Number.isFinite(after) && after >= 0)) {
    throw new RangeError(`runTask: softLimitAfter must be a number of seconds, at least 0, got ${after}`);
  }
  const message = {
    id: options.id || `eager-${randomUUID()}`, name, args, kwargs: options.kwargs || {},
    queue: options.queue || 'default', attempt, retries_left: retriesLeft, headers: options.headers || {},
  };
  const recorded = { progress: [], logs: [], heartbeats: 0 };
  const controller = new AbortController();
  const ctx = new RecordingContext(message, controller.signal, recorded);
  const timer = after === undefined ? null : setTimeout(() => controller.abort(new SoftTimeLimitExceeded()), after * 1000);
  try {
    const value = await fn(ctx, ...args);
    if (value !== undefined && JSON.stringify(value) === undefined) {
      const thrown = new TypeError(`the result of task '${name}' is not JSON-serializable: a ${typeof value} has no JSON form`);
      return new TaskRun('failure', undefined, thrown, { ...toErrorPayload(thrown), retryable: false }, recorded);
    }
    return new TaskRun('success', value === undefined ? null : value, undefined, undefined, recorded);
  } catch (thrown) {
    return new TaskRun(thrown instanceof Retry ? 'retry' : 'failure', undefined, thrown, toErrorPayload(thrown), recorded);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

// Variables of the test's environment that would point the worker or the client elsewhere.
const STRIPPED = ['STEM_API_URL', 'STEM_API_TOKEN', 'STEM_NAMESPACE'];

/** A real `stem worker` on a temporary embedded store; see startWorker. */
class StemWorker {
  constructor(options = {}) {
    if (!options.manifest) throw new TypeError('startWorker: give the manifest (the path of your stem.toml)');
    this.manifest = path.resolve(options.manifest);
    if (!fs.existsSync(this.manifest)) throw new Error(`startWorker: no manifest at ${this.manifest}`);
    this.ownDir = options.dir === undefined;
    this.dir = options.dir || fs.mkdtempSync(path.join(os.tmpdir(), 'stem-test-'));
    fs.mkdirSync(this.dir, { recursive: true });
    this.bin = options.bin || process.env.STEM_BIN || 'stem';
    this.store = `sqlite://${path.join(this.dir, 'stem.db')}`;
    const env = { ...process.env };
    for (const key of STRIPPED) delete env[key];
    Object.assign(env, {
      STEM_MANIFEST: this.manifest,
      STEM_BROKER_URL: this.store,
      STEM_RESULT_BACKEND_URL: this.store,
      STEM_REVOKE_STORE_URL: this.store,
      STEM_SCHEDULE_STORE_URL: this.store,
    }, options.env || {});
    this.env = env;
    this.cwd = path.dirname(this.manifest);
    this.argv = ['worker', '--manifest', this.manifest, '--concurrency', String(options.concurrency || 2)];
    if (options.queues) this.argv.push('--queues', options.queues.join(','));
    this.argv.push(...(options.extraArgs || []));
    this.logPath = path.join(this.dir, 'worker.log');
    this.readyTimeout = options.readyTimeout || 30;
    this.child = null;
    this.exited = null;
    /** A Client bound to this worker's store (over the CLI, whatever STEM_API_URL says). */
    this.client = new Client({ bin: this.bin, env, cwd: this.cwd });
    this.client.transport = this.client.cli;
  }

  /** Starts the worker; resolves once it answers a ping, rejects (with its log) if it exits first. */
  async start() {
    const log = fs.openSync(this.logPath, 'w');
    try {
      this.child = spawn(this.bin, this.argv, { cwd: this.cwd, env: this.env, stdio: ['ignore', log, log], detached: true });
    } finally {
      fs.closeSync(log);
    }
    this.exited = new Promise((done) => {
      this.child.on('exit', (code, signal) => done({ code, signal }));
      this.child.on('error', (err) => done({ code: null, signal: null, error: err }));
    });
    const deadline = Date.now() + this.readyTimeout * 1000;
    for (;;) {
      const gone = await Promise.race([this.exited, Promise.resolve(null)]);
      if (gone) {
        const why = gone.error ? gone.error.message : `status ${gone.code === null ? gone.signal : gone.code}`;
        throw new Error(`stem worker exited (${why}) before it was ready:\n${this.logTail()}`);
      }
      if (await this.#answersPing()) return this;
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(`stem worker did not answer a ping within ${this.readyTimeout}s:\n${this.logTail()}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  #answersPing() {
    return new Promise((resolvePing) => {
      execFile(this.bin, ['worker', 'ping', '--json', '--timeout', '1s'], { env: this.env, cwd: this.cwd }, (err, stdout) => {
        if (err) return resolvePing(false);
        try {
          const replies = JSON.parse(stdout || '{}');
          resolvePing(Object.values(replies).some((r) => r && r.ok));
        } catch {
          resolvePing(false);
        }
      });
    });
  }

  /** The last lines of the worker's log. */
  logTail(lines = 40) {
    try {
      return fs.readFileSync(this.logPath, 'utf8').split('\n').slice(-lines - 1).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** A warm shutdown (SIGTERM), then SIGKILL to its process group after `grace` seconds. */
  async stop(grace = 10) {
    if (!this.child) return null;
    let status = await Promise.race([this.exited, Promise.resolve(null)]);
    if (!status) {
      this.child.kill('SIGTERM');
      let timer;
      const late = new Promise((r) => {
        timer = setTimeout(() => r(null), grace * 1000);
      });
      status = await Promise.race([this.exited, late]);
      clearTimeout(timer);
      if (!status) {
        try {
          process.kill(-this.child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
        status = await this.exited;
      }
    }
    if (this.ownDir) fs.rmSync(this.dir, { recursive: true, force: true });
    return status;
  }
}

/**
 * Start a real `stem worker` on `options.manifest` (your stem.toml) and a temporary embedded
 * store (`options.dir`, else a fresh temporary folder); resolves once it is ready. With
 * `options.t` (a node:test context) it is stopped after that test; else call `stop()`.
 * `concurrency`, `queues`, `extraArgs`, `env`, `bin` (default `STEM_BIN`, else `stem`).
 */
async function startWorker(options = {}) {
  const worker = new StemWorker(options);
  if (options.t && typeof options.t.after === 'function') options.t.after(() => worker.stop());
  await worker.start();
  return worker;
}

module.exports = { runTask, TaskRun, startWorker, StemWorker };
