// Errors a task throws to steer retries (Retry, Fatal), the soft-limit abort reason, the
// error a workflow sees for a failed step (StepFailedError), and the conversion of anything a task throws into the protocol's `error` object.
'use strict';

const util = require('node:util');

/** Ask for a retry, optionally after `countdown` seconds. */
class Retry extends Error {
  constructor(message = 'try again', options = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'Retry';
    if (options.countdown !== undefined) {
      const countdown = Number(options.countdown);
      if (!Number.isFinite(countdown) || countdown < 0) {
        throw new RangeError(`Retry countdown must be a non-negative number of seconds, got ${options.countdown}`);
      }
      this.countdown = countdown;
    }
  }
}

/** Fail without retrying: the error is recorded and no further attempt is made. */
class Fatal extends Error {
  constructor(message = 'fatal error', options = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'Fatal';
  }
}

/** The reason a task's `ctx.signal` is aborted with when the soft time limit passes. */
class SoftTimeLimitExceeded extends Error {
  constructor(message = 'soft time limit exceeded') {
    super(message);
    this.name = 'SoftTimeLimitExceeded';
  }
}

/**
 * What a workflow call throws when its step failed for good: the step's code raised (after its
 * retries), or the task it called or the child run it started failed. `type`, `message` and
 * `traceback` are the step's recorded error; `step` is the step's name. A `Fatal`: when it
 * escapes the workflow the run fails, without replaying the same recorded failure again.
 */
class StepFailedError extends Fatal {
  constructor(step, error = {}) {
    super(error.message === undefined || error.message === null ? '' : String(error.message));
    this.name = 'StepFailedError';
    this.step = String(step);
    this.type = typeof error.type === 'string' && error.type !== '' ? error.type : 'Error';
    this.traceback = typeof error.traceback === 'string' ? error.traceback : '';
  }
}

function isErrorLike(value) {
  return value instanceof Error || util.types.isNativeError(value);
}

// A subclass that forgot `this.name = ...` still reports its class name.
function errorType(err) {
  const name = typeof err.name === 'string' ? err.name : '';
  const ctor = err.constructor && typeof err.constructor.name === 'string' ? err.constructor.name : '';
  if ((name === '' || name === 'Error') && ctor !== '' && ctor !== 'Error') return ctor;
  return name || 'Error';
}

/**
 * The error's type, then the constructor names along its prototype chain (Object left out):
 * what the manifest's `retry_on` / `no_retry_on` match.
 */
function typeChain(err) {
  const chain = [errorType(err)];
  let proto = Object.getPrototypeOf(err);
  while (proto && proto !== Object.prototype && chain.length < 32) {
    const ctor = Object.prototype.hasOwnProperty.call(proto, 'constructor') ? proto.constructor : undefined;
    const name = ctor && typeof ctor.name === 'string' ? ctor.name : '';
    if (name !== '' && !chain.includes(name)) chain.push(name);
    proto = Object.getPrototypeOf(proto);
  }
  return chain;
}

function describeThrown(value) {
  if (typeof value === 'string') return value;
  if (value === null || typeof value !== 'object') return String(value);
  return util.inspect(value, { depth: 4, breakLength: Infinity });
}

/** The protocol `error` object for whatever a task threw (an Error or any other value). */
function toErrorPayload(thrown) {
  try {
    if (!isErrorLike(thrown)) {
      return {
        type: 'Error',
        message: describeThrown(thrown),
        traceback: `a non-Error value was thrown (${thrown === null ? 'null' : typeof thrown})`,
        retryable: true,
      };
    }
    const payload = {
      type: errorType(thrown),
      message: thrown.message === undefined ? '' : String(thrown.message),
      traceback: typeof thrown.stack === 'string' ? thrown.stack : '',
      retryable: !(thrown instanceof Fatal),
      types: typeChain(thrown),
    };
    if (thrown instanceof Retry && thrown.countdown !== undefined) payload.countdown = thrown.countdown;
    return payload;
  } catch (err) {
    // A hostile error (throwing getters) must not take the loop down.
    return { type: 'Error', message: `unreportable error: ${String(err)}`, traceback: '', retryable: true };
  }
}

module.exports = { Retry, Fatal, SoftTimeLimitExceeded, StepFailedError, toErrorPayload, typeChain };
