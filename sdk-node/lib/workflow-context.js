// The context a workflow function gets as its first argument: the task context of its resume
// plus the run (runId, name, version) and the durable calls (step, sleep, waitForEvent, call,
// startChild), each replayed from the journal or sent to the supervisor (protocol/PROTOCOL.md,
// "Workflows").
'use strict';

const { Context } = require('./context');
const { StepFailedError } = require('./errors');
const { durationMs, epochMs } = require('./durations');

function checkName(api, name) {
  if (typeof name !== 'string' || name === '') throw new TypeError(`${api}: the step name must be a non-empty string, got ${JSON.stringify(name)}`);
}

function checkKeys(api, options, allowed) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${api}: options must be an object`);
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) throw new TypeError(`${api}: unknown option ${JSON.stringify(key)} (known: ${allowed.join(', ')})`);
  }
}

function checkArgs(api, args, kwargs) {
  if (!Array.isArray(args)) throw new TypeError(`${api}: args must be an array`);
  if (kwargs === null || typeof kwargs !== 'object' || Array.isArray(kwargs)) throw new TypeError(`${api}: kwargs must be an object`);
}

/** The result of a recorded final entry (`{ value }`), a throw for a failed one, else null. */
function recorded(at) {
  const { entry } = at;
  if (entry === undefined) return null;
  if (entry.state === 'failed') throw new StepFailedError(at.name, entry.error || {});
  if (entry.state === 'done') return { value: entry.result === undefined ? null : entry.result };
  return null;
}

function positiveInteger(value) {
  return Number.isInteger(value) && value > 0 ? value : 1;
}

/** Run a step's function (retried per `retries`), or replay its recorded outcome. */
async function runStep(resume, at, fn, retries, delayMs) {
  const done = recorded(at);
  if (done !== null) return done.value;
  let attempt = at.entry === undefined ? 1 : positiveInteger(at.entry.attempt);
  for (;;) {
    resume.send(at, { op: 'start', attempt });
    const outcome = await resume.runStep(at.name, `${resume.runId}/${at.name}/${attempt}`, fn);
    if (outcome.error === undefined) {
      await resume.exchange(at, { op: 'done', attempt, result: outcome.value });
      return outcome.value;
    }
    if (outcome.error.retryable !== false && attempt <= retries) {
      await resume.exchange(at, { op: 'retry', attempt, error: outcome.error, delay_ms: delayMs }, delayMs > 0);
      attempt += 1;
    } else {
      await resume.exchange(at, { op: 'fail', attempt, error: outcome.error });
      throw new StepFailedError(at.name, outcome.error);
    }
  }
}

/** Send a suspending op unless the entry is final (its result then, or its error). */
async function suspendUnlessRecorded(resume, at, fields, asResult = (entry, value) => value) {
  const done = recorded(at);
  if (done !== null) return asResult(at.entry, done.value);
  return resume.exchange(at, fields, true);
}

const CALL_OPTIONS = { queue: 'queue', priority: 'priority', maxRetries: 'max_retries', max_retries: 'max_retries',
  timeLimit: 'time_limit', time_limit: 'time_limit', countdown: 'countdown' };

class WorkflowContext extends Context {
  #resume;

  /** @param {object} message a `wf:NAME` task line; @param {AbortSignal} signal; @param {Resume} resume */
  constructor(message, signal, resume) {
    super(message, signal);
    const run = message.workflow;
    /** The resume's task name (`wf:NAME`). */
    this.taskName = message.name;
    this.name = typeof run.name === 'string' ? run.name : message.name.replace(/^wf:/, '');
    this.runId = run.run;
    this.version = run.version;
    this.codeVersion = run.code_version;
    this.#resume = resume;
  }

  /** `RUN/STEP_NAME/ATTEMPT` while a step's function runs; throws anywhere else. */
  get idempotencyKey() {
    return this.#resume.idempotencyKey();
  }

  /**
   * Run `fn()` once per run and resolve to its result (replayed from the journal after that).
   * `retries`: extra attempts after it throws (a `Fatal` is not retried); `retryDelay`: ms or a
   * duration text before each retry (> 0 suspends the run until then).
   */
  async step(name, fn, options = {}) {
    checkName('ctx.step', name);
    if (typeof fn !== 'function') throw new TypeError(`ctx.step(${JSON.stringify(name)}): fn must be a function`);
    checkKeys('ctx.step', options, ['retries', 'retryDelay']);
    const { retries = 0, retryDelay = 0 } = options;
    if (!Number.isInteger(retries) || retries < 0) throw new RangeError(`ctx.step(${JSON.stringify(name)}): retries must be a whole number >= 0, got ${retries}`);
    const delayMs = durationMs(retryDelay, `ctx.step(${JSON.stringify(name)}) retryDelay`);
    const resume = this.#resume;
    return resume.call('step', name, 'ctx.step', (at) => runStep(resume, at, fn, retries, delayMs));
  }

  /** Suspend the run for a duration (ms or text like "2d", "1h30m") or `{ until: Date | epochMs }`. */
  async sleep(name, duration) {
    checkName('ctx.sleep', name);
    let fields;
    if (duration !== null && typeof duration === 'object' && !(duration instanceof Date)) {
      checkKeys('ctx.sleep', duration, ['until']);
      fields = { op: 'sleep', until: epochMs(duration.until, `ctx.sleep(${JSON.stringify(name)}) until`) };
    } else {
      fields = { op: 'sleep', delay_ms: durationMs(duration, `ctx.sleep(${JSON.stringify(name)})`) };
    }
    const resume = this.#resume;
    await resume.call('sleep', name, 'ctx.sleep', (at) => suspendUnlessRecorded(resume, at, fields));
  }

  /** Suspend until an event on `topic` or the `timeout`: resolves to `{ timedOut, payload }`. */
  async waitForEvent(name, topic, options = {}) {
    checkName('ctx.waitForEvent', name);
    if (typeof topic !== 'string' || topic === '') throw new TypeError(`ctx.waitForEvent(${JSON.stringify(name)}): topic must be a non-empty string`);
    checkKeys('ctx.waitForEvent', options, ['timeout']);
    const fields = { op: 'wait', topic };
    if (options.timeout !== undefined) fields.timeout_ms = durationMs(options.timeout, `ctx.waitForEvent(${JSON.stringify(name)}) timeout`);
    const resume = this.#resume;
    const asEvent = (entry, value) => (entry.timed_out === true ? { timedOut: true, payload: null } : { timedOut: false, payload: value });
    return resume.call('wait', name, 'ctx.waitForEvent', (at) => suspendUnlessRecorded(resume, at, fields, asEvent));
  }

  /**
   * Run the task `task` (any language) once per run and resolve to its result. Options:
   * `kwargs`, `name` (the step's, default the task name), `queue`, `priority`, `maxRetries`,
   * `timeLimit`, `countdown` (the last two as an enqueue takes them).
   */
  async call(task, args = [], options = {}) {
    if (typeof task !== 'string' || task === '') throw new TypeError(`ctx.call: the task name must be a non-empty string, got ${JSON.stringify(task)}`);
    checkKeys('ctx.call', options, ['kwargs', 'name', ...Object.keys(CALL_OPTIONS)]);
    const { kwargs = {}, name = task } = options;
    checkName('ctx.call', name);
    checkArgs(`ctx.call(${JSON.stringify(task)})`, args, kwargs);
    const wire = {};
    for (const [key, value] of Object.entries(options)) {
      if (CALL_OPTIONS[key] !== undefined && value !== undefined) wire[CALL_OPTIONS[key]] = value;
    }
    const fields = { op: 'call', task, args: [...args], kwargs: { ...kwargs } };
    if (Object.keys(wire).length > 0) fields.options = wire;
    const resume = this.#resume;
    return resume.call('call', name, 'ctx.call', (at) => suspendUnlessRecorded(resume, at, fields));
  }

  /** Start a run of `workflow` as step `name` and resolve to its result when it completes. */
  async startChild(name, workflow, args = [], options = {}) {
    checkName('ctx.startChild', name);
    if (typeof workflow !== 'string' || workflow === '') throw new TypeError(`ctx.startChild(${JSON.stringify(name)}): the workflow name must be a non-empty string`);
    checkKeys('ctx.startChild', options, ['kwargs']);
    const { kwargs = {} } = options;
    checkArgs(`ctx.startChild(${JSON.stringify(name)})`, args, kwargs);
    const fields = { op: 'child', workflow, args: [...args], kwargs: { ...kwargs } };
    const resume = this.#resume;
    return resume.call('child', name, 'ctx.startChild', (at) => suspendUnlessRecorded(resume, at, fields));
  }
}

module.exports = { WorkflowContext };
