// One resume of a workflow run: runs the workflow's calls one at a time in the order the code
// makes them, writes their `step` messages, reads each `step_ack` from stdin, and decides how
// the resume ends (the function's value or error, a suspension, or a refused step).
//
// How a suspension stops the code. When a call suspends the run (a sleep, a wait, a call, a
// child, a retry with a delay: once its ack is read) or the resume must stop (an `ok: false`
// ack, nondeterminism), the promise that call handed to the workflow's code never settles: no
// value and no error reach the code, so no `try/catch` (nor `finally`, nor `.catch()`) around
// the call can swallow the stop and run on. The serve loop races the function's promise
// against the resume's end, writes the task's answer as soon as the resume ended, and drops the
// function's promise, which, pending forever with nothing referring to it, is garbage
// collected. (Throwing a special error instead would let a broad `catch` resume the code past
// the suspension.) Calls made after the end (queued ones, or from code racing the function)
// never run and never settle either.
'use strict';

const { AsyncLocalStorage } = require('node:async_hooks');
const { writeLine, strictNumbers } = require('./wire');
const { toErrorPayload } = require('./errors');
const { Journal } = require('./journal');

/** Thrown inside a call's body once the resume ended; caught before user code sees it. */
const ENDED = Symbol('the resume ended');

/** The step whose function is running in this async context: `{ resume, name, key }`. */
const inStep = new AsyncLocalStorage();

function protocolError(message) {
  return { type: 'ProtocolError', message, traceback: '', retryable: false };
}

/** The error an `ok: false` ack carries, as is (with the fields the protocol requires). */
function ackError(error) {
  if (error === null || typeof error !== 'object' || typeof error.type !== 'string') {
    return { type: 'StepRefused', message: 'the supervisor refused the step without saying why', traceback: '', retryable: false };
  }
  return { ...error, message: error.message === undefined ? '' : String(error.message), traceback: typeof error.traceback === 'string' ? error.traceback : '' };
}

class Resume {
  #wake;

  /** @param {object} message the `task` line (with its `workflow`); @param {Input} input stdin */
  constructor(message, input) {
    this.id = message.id;
    this.runId = message.workflow.run;
    this.journal = new Journal(message.workflow);
    this.input = input;
    /** How the resume ends, once a call decided it: `{suspended}`, `{error}` or `{closed}`. */
    this.outcome = null;
    /** No new message is written once set: the resume is ending. */
    this.closing = false;
    /** The read of the ack that answers the last op written, while under way. */
    this.exchanging = null;
    this.tail = Promise.resolve();
    this.ended = new Promise((resolve) => {
      this.#wake = resolve;
    });
  }

  /** Decide how the resume ends (the first decision stands). */
  end(outcome) {
    if (this.outcome !== null) return;
    this.outcome = outcome;
    this.closing = true;
    this.#wake();
  }

  /**
   * Queue a call named `name` (a Journal kind: step, sleep, wait, call, child) and resolve to
   * what `body({ index, name, entry })` gives, after the calls made before it. `api` names the
   * method for errors.
   */
  call(kind, name, api, body) {
    const current = inStep.getStore();
    if (current !== undefined && current.resume === this) {
      return Promise.reject(new Error(`${api}(${JSON.stringify(name)}) was called inside step ${JSON.stringify(current.name)}: a step's function cannot make workflow calls`));
    }
    const site = new Error(`workflow call ${api}(${JSON.stringify(name)})`);
    return new Promise((resolve, reject) => {
      this.tail = this.tail.then(async () => {
        if (this.closing) return;
        const slot = this.journal.take(name, kind);
        if (slot.nondeterminism !== undefined) {
          this.end({ error: { type: 'Nondeterminism', message: slot.nondeterminism, traceback: site.stack || '', retryable: false } });
          return;
        }
        try {
          resolve(await body({ index: slot.index, name, entry: slot.entry }));
        } catch (err) {
          if (err !== ENDED) reject(err);
        }
      });
    });
  }

  /** Write a `step` message for the call at `at` (throws ENDED once the resume is ending). */
  send(at, fields) {
    if (this.closing) throw ENDED;
    writeLine(JSON.stringify({ type: 'step', id: this.id, index: at.index, name: at.name, ...fields }, strictNumbers));
  }

  /**
   * Write an op and read its ack. Returns when the ack lets the code go on; throws ENDED when
   * the resume ended (a suspension, always after an op that `suspends`, or a refusal).
   */
  async exchange(at, fields, suspends = false) {
    this.send(at, fields);
    const reading = this.#readAck(at, suspends);
    this.exchanging = reading;
    try {
      await reading;
    } finally {
      this.exchanging = null;
    }
    if (this.outcome !== null) throw ENDED;
  }

  async #readAck(at, suspends) {
    let ack;
    try {
      ack = await this.input.next();
    } catch {
      ack = null;
    }
    if (ack === null || ack.type === 'shutdown') return this.end({ closed: true });
    if (ack.type !== 'step_ack' || ack.id !== this.id || ack.index !== at.index) {
      const text = `expected the step_ack of step ${at.index} of task ${this.id}, got ${JSON.stringify(ack).slice(0, 200)}`;
      return this.end({ error: protocolError(text) });
    }
    if (ack.ok !== true) return this.end({ error: ackError(ack.error) });
    if (ack.suspended === true || suspends) return this.end({ suspended: true });
    return undefined;
  }

  /**
   * Run a step's function with `ctx.idempotencyKey` set to `key`: `{ value }` (its result as
   * JSON gives it back, the same as a replay returns) or `{ error }` (the protocol's error).
   */
  async runStep(name, key, fn) {
    let value;
    try {
      value = await inStep.run({ resume: this, name, key }, fn);
    } catch (thrown) {
      return { error: toErrorPayload(thrown) };
    }
    let encoded;
    try {
      encoded = JSON.stringify(value === undefined ? null : value, strictNumbers);
    } catch (err) {
      encoded = err;
    }
    if (typeof encoded !== 'string') {
      const detail = encoded instanceof Error ? encoded.message : `a ${typeof value} has no JSON form`;
      const message = `the result of step ${JSON.stringify(name)} is not JSON-serializable: ${detail}`;
      return { error: { type: 'TypeError', message, traceback: '', retryable: false } };
    }
    return { value: JSON.parse(encoded) };
  }

  /** The running step's idempotency key (throws outside a step's function). */
  idempotencyKey() {
    const current = inStep.getStore();
    if (current === undefined || current.resume !== this) {
      throw new Error('ctx.idempotencyKey is only set while a step runs (inside the function given to ctx.step)');
    }
    return current.key;
  }

  /**
   * Run the workflow function to the end of this resume: `{ value }` or `{ thrown }` from the
   * function, else the outcome a call decided (`{ suspended }`, `{ error }`, `{ closed }`).
   */
  async settle(fn, ctx, args) {
    const finished = Promise.resolve()
      .then(() => fn(ctx, ...args))
      .then((value) => ({ value }), (thrown) => ({ thrown }));
    const first = await Promise.race([finished, this.ended]);
    // The function may return while a call it did not await is between its op and the ack:
    // that ack is read before the task is answered, and nothing new is written.
    this.closing = true;
    if (this.exchanging !== null) await this.exchanging;
    return this.outcome !== null ? this.outcome : first;
  }
}

module.exports = { Resume, ENDED };
