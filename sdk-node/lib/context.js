// The context a task handler gets as its first argument: the task's envelope fields,
// an AbortSignal for the soft time limit, and progress/heartbeat/log reporting.
'use strict';

const { writeLine } = require('./wire');

const finished = Symbol('finished');

/** `started` plus a relative limit in ms, or undefined without one. */
function after(started, limitMs) {
  return typeof limitMs === 'number' && Number.isFinite(limitMs) ? started + limitMs : undefined;
}

class Context {
  #signal;
  #makeSignal;

  /**
   * @param {object} message a `task` line
   * @param {AbortSignal | (() => AbortSignal)} signal the signal, or what makes it on first use
   *   (the serve loop's: most tasks never look at theirs)
   */
  constructor(message, signal) {
    this.id = message.id;
    this.name = message.name;
    this.queue = message.queue;
    this.attempt = message.attempt;
    this.retriesLeft = message.retries_left;
    this.deadline = message.deadline;
    this.softDeadline = message.soft_deadline;
    if (message.time_limit_ms !== undefined || message.soft_time_limit_ms !== undefined) {
      // A line written ahead (pipelining): its limits count from this task's own start.
      const started = Date.now();
      if (this.deadline === undefined) this.deadline = after(started, message.time_limit_ms);
      if (this.softDeadline === undefined) this.softDeadline = after(started, message.soft_time_limit_ms);
    }
    this.headers = Object.freeze({ ...(message.headers || {}) });
    this.kwargs = message.kwargs || {};
    if (typeof signal === 'function') this.#makeSignal = signal;
    else this.#signal = signal;
    /** The span this task's own work hangs under (see lib/trace.js), or null. */
    this.traceparent = null;
    this[finished] = false;
  }

  /** Aborted (with SoftTimeLimitExceeded) when the soft time limit passes. */
  get signal() {
    if (this.#signal === undefined && this.#makeSignal !== undefined) {
      this.#signal = this.#makeSignal();
      this.#makeSignal = undefined;
    }
    return this.#signal;
  }

  /** Report progress: any JSON value, e.g. `{current: 3, total: 10}`. */
  progress(value) {
    const encoded = JSON.stringify(value === undefined ? null : value);
    if (encoded === undefined) throw new TypeError('progress must be a JSON-serializable value');
    this.#emit(`{"type":"progress","id":${JSON.stringify(this.id)},"progress":${encoded}}`);
  }

  /** Tell the supervisor the task is alive. */
  heartbeat() {
    this.#emit(JSON.stringify({ type: 'heartbeat', id: this.id }));
  }

  /** Send a log line to the supervisor's log, tagged with this task's id. */
  log(message, level = 'info') {
    this.#emit(JSON.stringify({ type: 'log', id: this.id, level: String(level), message: String(message) }));
  }

  // After the task's outcome is written, its messages would carry a stale id.
  #emit(line) {
    if (this[finished]) {
      process.stderr.write(`stem: task ${this.id} reported after it finished; dropped\n`);
      return;
    }
    writeLine(line);
  }
}

/** Mark a context done: later progress/heartbeat/log calls are dropped. */
function finish(ctx) {
  ctx[finished] = true;
}

module.exports = { Context, finish };
