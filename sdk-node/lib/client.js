// The producer side: enqueue tasks, await their results, revoke them. With an API URL
// (`new Client({ url, token })`, or STEM_API_URL / STEM_API_TOKEN) it speaks `stem serve`'s
// HTTP API with fetch; without one it runs the `stem` CLI (the embedded default needs no
// server). Timeouts are in seconds, as in the Python SDK. The schedule helpers and the canvas
// hooks (submitCanvas, showCanvas) always run the CLI: schedules and canvases have no HTTP
// route yet (lib/schedules.js). The workflow methods (startWorkflow, workflowRun, ...) speak
// the same transport as enqueue (lib/workflow-client.js, lib/workflow-transport.js). Over the CLI,
// `enqueue` with `wait` enqueues and starts waiting in one `stem enqueue --wait` (its notes
// become StemWarnings, lib/cli-notes.js).
'use strict';

const { CliTransport } = require('./cli');
const { HttpTransport, MAX_POLL } = require('./http');
const scheduleOps = require('./schedules');
const { StemCliError, StemError, ApiError, UnknownTaskError, TaskFailed, TaskTimeout } = require('./producer-errors');
const { CliWorkflows, HttpWorkflows } = require('./workflow-transport');
const { WorkflowProducer } = require('./workflow-client');
const { TERMINAL_STATES, taskSpec, asSpec, seconds } = require('./spec');
const pg = require('./pg');

/** Tasks per request of enqueueMany (the API takes at most 10,000 per request). */
const BATCH = 10000;

class Client {
  constructor(options = {}) {
    const url = options.url || process.env.STEM_API_URL;
    const token = options.token || process.env.STEM_API_TOKEN;
    /** The CLI the schedule and canvas helpers run (the transport itself without a URL). */
    this.cli = new CliTransport(options);
    this.transport = url ? new HttpTransport(url, token, seconds(options.timeout) || 30) : this.cli;
    /** The workflow operations, over the same transport. */
    this.workflows = new WorkflowProducer(this, url ? new HttpWorkflows(this.transport) : new CliWorkflows(this.cli));
  }

  /** Enqueue task `name`; resolves to a TaskResult (with `wait`, once the task finished). */
  async enqueue(name, args = [], options = {}) {
    const spec = taskSpec(name, args, options);
    if (options.client) {
      // In the caller's own Postgres transaction: published when it commits (lib/pg.js).
      if (options.wait) throw new TypeError('wait with client: the task is published when the client\'s transaction commits');
      const id = await pg.sendSpec(options.client, spec, options.schema);
      return new TaskResult(id, this, { id, state: 'pending' });
    }
    if (options.wait && this.transport.enqueueAndWait) {
      const waited = await this.enqueueAndWait(spec, options.timeout);
      if (waited) return waited;
    }
    const [sent] = await this.transport.enqueue([spec]);
    const result = new TaskResult(sent.id, this, sent);
    if (options.wait) await result.wait(options.timeout);
    return result;
  }

  /**
   * Over the CLI, enqueue and the first wait in one `stem enqueue --wait` (so its note that
   * no live worker consumes the queue is passed on), then wait on as TaskResult.wait does.
   */
  async enqueueAndWait(spec, timeout) {
    timeout = seconds(timeoutOf(timeout));
    const deadline = timeout === undefined || timeout === null ? undefined : Date.now() + timeout * 1000;
    const record = await this.transport.enqueueAndWait(spec, deadline === undefined ? MAX_POLL : Math.min(timeout, MAX_POLL));
    if (record === undefined) return undefined;
    const result = new TaskResult(record.id, this, { id: record.id, state: 'pending', duplicate: false });
    if (TERMINAL_STATES.includes(record.state)) {
      result.final = record;
      return result;
    }
    if (deadline !== undefined && Date.now() >= deadline) throw new TaskTimeout(record.id, record.state, timeout);
    await result.wait(deadline === undefined ? undefined : (deadline - Date.now()) / 1000);
    return result;
  }

  /** Enqueue many tasks, `batchSize` per request; each a spec object or [name, args, options]. */
  async enqueueMany(tasks, options = {}) {
    const size = options.batchSize || BATCH;
    const out = [];
    let batch = [];
    const flush = async () => {
      for (const sent of await this.transport.enqueue(batch)) out.push(new TaskResult(sent.id, this, sent));
      batch = [];
    };
    for (const item of tasks) {
      batch.push(asSpec(item));
      if (batch.length >= size) await flush();
    }
    if (batch.length) await flush();
    return out;
  }

  /** A handle on a task enqueued earlier (here or elsewhere). */
  result(id) {
    return new TaskResult(id, this);
  }

  /** The task's record; with `wait` (seconds), long-polls for it to finish. */
  info(id, options = {}) {
    return this.transport.info(String(id), options.wait);
  }

  revoke(id, options = {}) {
    return this.transport.revoke(String(id), options);
  }

  /**
   * Create or update schedule `id` firing `task` (one of `every`, `cron`, `at`) through
   * `stem schedule apply`; `manifest` names the stem.toml whose tasks are checked (default
   * ./stem.toml). Resolves to what apply did (`{created, updated, unchanged, pruned}`).
   */
  schedule(id, task, options = {}) {
    return scheduleOps.schedule(this.cli, id, task, options);
  }

  /** Every stored schedule with its state (`stem schedule list --json`). */
  schedules() {
    return scheduleOps.schedules(this.cli);
  }

  /** Delete schedule `id` (`stem schedule delete ID --yes --json`). */
  unschedule(id) {
    return scheduleOps.unschedule(this.cli, id);
  }

  /**
   * Submit a canvas document (`stem canvas submit - --json`, the document on stdin); resolves
   * to `{id, published, nodes}`. Always the CLI: canvases have no HTTP route (lib/canvas.js).
   * `timeout`: seconds the CLI may take (default: no limit).
   */
  async submitCanvas(document, options = {}) {
    const reply = await this.cli.run(['canvas', 'submit', '-'], ms(options.timeout), JSON.stringify(document));
    if (typeof reply.id !== 'string') {
      throw new StemCliError(`stem canvas submit printed no canvas id: ${JSON.stringify(reply)}`, {});
    }
    return reply;
  }

  /** A canvas's view (`stem canvas show ID --json`): its state, result, failed node and nodes. */
  showCanvas(id, options = {}) {
    return this.cli.run(['canvas', 'show', String(id)], ms(options.timeout));
  }

  /**
   * Start a run of workflow `name` (`{args, kwargs, id}`; over the CLI also `manifest`, the
   * stem.toml declaring it); resolves to its WorkflowRun. With `id`, a second start finds the
   * first run (`handle.created` false) and starts nothing.
   */
  startWorkflow(name, options = {}) {
    return this.workflows.start(name, options);
  }

  /** A handle on an existing run (nothing is asked until it is used). */
  workflowRun(runId) {
    return this.workflows.run(runId);
  }

  /** Runs, newest first, without their steps: `{state, name, limit}` (default limit 50). */
  workflowRuns(filter = {}) {
    return this.workflows.runs(filter);
  }

  /** The runs waiting for events: `{topic, limit}` → `[{topic, run, index, deadline, since}]`. */
  workflowWaiters(filter = {}) {
    return this.workflows.waiters(filter);
  }

  /** Emit an event: every run waiting on `topic` resumes with `payload` → `{topic, resumed, runs}`. */
  emit(topic, payload = null) {
    return this.workflows.emit(topic, payload);
  }

  /** End a run `cancelled`; resolves to the run. */
  cancelWorkflow(runId) {
    return this.workflows.cancel(runId);
  }

  /** Run a run's first step named `to` and every later one again; resolves to the run. */
  rewindWorkflow(runId, to) {
    return this.workflows.rewind(runId, to);
  }
}

/** Seconds (or undefined) as the milliseconds the CLI transport takes. */
function ms(duration) {
  const s = seconds(duration);
  return s === undefined ? undefined : s * 1000;
}

class TaskResult {
  constructor(id, client, enqueued) {
    this.id = id;
    this.client = client;
    this.enqueued = enqueued || { id };
    this.final = undefined;
  }

  /** True when a live task already held this id or unique key: nothing was published. */
  get duplicate() {
    return Boolean(this.enqueued && this.enqueued.duplicate);
  }

  async info() {
    return this.final || this.client.info(this.id);
  }

  async ready() {
    return TERMINAL_STATES.includes((await this.info()).state);
  }

  /**
   * Resolves to the record once the task finished; rejects with TaskTimeout after `timeout` s.
   * Takes `wait(30)` or, as canvas and workflow handles do, `wait({ timeout: 30 })`.
   */
  async wait(timeout) {
    if (this.final) return this.final;
    timeout = seconds(timeoutOf(timeout));
    const deadline = timeout === undefined || timeout === null ? undefined : Date.now() + timeout * 1000;
    for (;;) {
      const left = deadline === undefined ? 30 : (deadline - Date.now()) / 1000;
      const info = await this.client.info(this.id, { wait: Math.max(left, 0.001) });
      if (TERMINAL_STATES.includes(info.state)) {
        this.final = info;
        return info;
      }
      if (deadline !== undefined && Date.now() >= deadline) throw new TaskTimeout(this.id, info.state, timeout);
    }
  }

  /** The result value; a failed or revoked task rejects with TaskFailed. */
  async get(timeout, options = {}) {
    if (isOptions(timeout)) options = { ...timeout, ...options };
    const info = await this.wait(timeoutOf(timeout));
    if (info.state !== 'success') {
      if (options.propagate === false) return info;
      throw new TaskFailed(info);
    }
    return info.result;
  }

  revoke(options = {}) {
    return this.client.revoke(this.id, options);
  }
}

/** `{ timeout }` (the handles' options shape) rather than a duration. */
function isOptions(value) {
  return value !== null && typeof value === 'object' && !(value instanceof Date);
}

/** The timeout of `30`, `'30s'` or `{ timeout: 30 }`. */
function timeoutOf(value) {
  return isOptions(value) ? value.timeout : value;
}

module.exports = { Client, TaskResult, StemCliError, StemError, ApiError, UnknownTaskError, TaskFailed, TaskTimeout };
