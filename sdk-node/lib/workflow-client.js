// The producer side of durable workflows (docs/workflows.md): start a run (idempotent by id),
// follow it through a WorkflowRun handle (show, wait, get, cancel, rewind), list runs and event
// waiters, emit events. The Client's workflow methods call these with its transport's
// operations (lib/workflow-transport.js): the CLI, or `stem serve`'s HTTP API.
'use strict';

const { TaskTimeout, WorkflowFailedError } = require('./producer-errors');
const { seconds } = require('./spec');

/** The states a run ends in. */
const FINAL_STATES = ['completed', 'failed', 'cancelled', 'timed_out'];
const RUN_STATES = ['running', 'suspended', ...FINAL_STATES];

function checkKeys(api, options, allowed) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${api}: options must be an object, got ${JSON.stringify(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) throw new TypeError(`${api}: unknown option ${JSON.stringify(key)} (known: ${allowed.join(', ')})`);
  }
}

function checkText(api, what, value) {
  if (typeof value !== 'string' || value === '') throw new TypeError(`${api}: ${what} must be a non-empty string, got ${JSON.stringify(value)}`);
  return value;
}

function checkLimit(api, limit) {
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
    throw new RangeError(`${api}: limit must be a whole number >= 1, got ${JSON.stringify(limit)}`);
  }
}

/** What `startWorkflow` sends: `{args, kwargs, id?, manifest?}`, checked. */
function startSpec(name, options) {
  checkText('startWorkflow', 'the workflow name', name);
  checkKeys('startWorkflow', options, ['args', 'kwargs', 'id', 'manifest']);
  const args = options.args === undefined ? [] : options.args;
  const kwargs = options.kwargs === undefined ? {} : options.kwargs;
  if (!Array.isArray(args)) throw new TypeError(`startWorkflow ${name}: args must be an array, got ${JSON.stringify(args)}`);
  if (kwargs === null || typeof kwargs !== 'object' || Array.isArray(kwargs)) {
    throw new TypeError(`startWorkflow ${name}: kwargs must be an object, got ${JSON.stringify(kwargs)}`);
  }
  const spec = { args: [...args], kwargs: { ...kwargs } };
  if (options.id !== undefined) spec.id = checkText(`startWorkflow ${name}`, 'id', options.id);
  if (options.manifest !== undefined) spec.manifest = options.manifest;
  return spec;
}

/** The Client's workflow methods, over `ops` (a CliWorkflows or HttpWorkflows). */
class WorkflowProducer {
  constructor(client, ops) {
    this.client = client;
    this.ops = ops;
  }

  async start(name, options = {}) {
    const started = await this.ops.start(name, startSpec(name, options));
    return new WorkflowRun(started.run, this, started);
  }

  run(runId) {
    return new WorkflowRun(checkText('workflowRun', 'the run id', runId), this);
  }

  async runs(filter = {}) {
    checkKeys('workflowRuns', filter, ['state', 'name', 'limit']);
    if (filter.state !== undefined && !RUN_STATES.includes(filter.state)) {
      throw new RangeError(`workflowRuns: state must be one of ${RUN_STATES.join(', ')}, got ${JSON.stringify(filter.state)}`);
    }
    if (filter.name !== undefined) checkText('workflowRuns', 'name', filter.name);
    checkLimit('workflowRuns', filter.limit);
    return this.ops.list({ state: filter.state, name: filter.name, limit: filter.limit });
  }

  async waiters(filter = {}) {
    checkKeys('workflowWaiters', filter, ['topic', 'limit']);
    if (filter.topic !== undefined) checkText('workflowWaiters', 'topic', filter.topic);
    checkLimit('workflowWaiters', filter.limit);
    return this.ops.waiters({ topic: filter.topic, limit: filter.limit });
  }

  async emit(topic, payload) {
    checkText('emit', 'the topic', topic);
    return this.ops.emit(topic, payload === undefined ? null : payload);
  }

  async show(runId, wait) {
    return this.ops.show(checkText('workflowRun', 'the run id', runId), wait);
  }

  async cancel(runId) {
    return this.ops.cancel(checkText('cancelWorkflow', 'the run id', runId));
  }

  async rewind(runId, to) {
    checkText('rewindWorkflow', 'the run id', runId);
    return this.ops.rewind(runId, checkText(`rewindWorkflow ${runId}`, 'to (the step to run again from)', to));
  }
}

/** A run of a workflow: `.id`, `show()`, `wait()`, `get()`, `cancel()`, `rewind(to)`. */
class WorkflowRun {
  constructor(id, producer, started) {
    this.id = id;
    this.producer = producer;
    /** What the start answered (`{run, workflow, state, created}`); `{run}` for a looked-up run. */
    this.started = started || { run: id };
  }

  /** False when a run with the start's id already existed (nothing was started). */
  get created() {
    return this.started.created === true;
  }

  /** The run as it stands, with its steps. */
  show() {
    return this.producer.show(this.id);
  }

  /**
   * Resolves to the run (with its steps) once it ended (completed, failed, cancelled or
   * timed_out); rejects with TaskTimeout when it has not after `timeout` seconds. Over HTTP
   * it long-polls; over the CLI it polls `stem wf show`, from every `interval` seconds up to 1 s.
   */
  async wait(options = {}) {
    // `wait(30)` as a task handle takes it, or `wait({ timeout: 30 })`.
    if (typeof options !== 'object' || options === null) options = { timeout: options };
    const { interval = 0.1 } = options;
    const timeout = seconds(options.timeout);
    const deadline = timeout === undefined ? Infinity : Date.now() + timeout * 1000;
    const longPolls = Boolean(this.producer.ops.longPolls);
    let pause = interval * 1000;
    for (;;) {
      const left = deadline === Infinity ? 30 : (deadline - Date.now()) / 1000;
      const view = await this.producer.show(this.id, longPolls ? Math.max(left, 0.001) : undefined);
      if (FINAL_STATES.includes(view.state)) return view;
      if (Date.now() >= deadline) throw new TaskTimeout(this.id, view.state, timeout, 'workflow run');
      if (!longPolls) {
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(pause, deadline - Date.now()))));
        pause = Math.min(pause * 1.5, 1000);
      }
    }
  }

  /**
   * The run's result once it completed; a run that ended failed, cancelled or timed_out
   * rejects with WorkflowFailedError, no end within `timeout` seconds with TaskTimeout.
   */
  async get(options = {}) {
    const view = await this.wait(options);
    if (view.state !== 'completed') throw new WorkflowFailedError(view);
    return view.result === undefined ? null : view.result;
  }

  /** End the run `cancelled`; resolves to the run. */
  cancel() {
    return this.producer.cancel(this.id);
  }

  /** Run the first step named `to` and every later one again; resolves to the run. */
  rewind(to) {
    return this.producer.rewind(this.id, to);
  }
}

module.exports = { WorkflowProducer, WorkflowRun, FINAL_STATES, RUN_STATES };
