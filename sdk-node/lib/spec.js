// The task spec a producer sends ({task, args, kwargs, ...}), from the same options as the
// Python SDK: queue, countdown (seconds or "5s"), eta (a Date, an RFC 3339 string or epoch
// milliseconds), priority (0-9), maxRetries (or max_retries), headers, id, fairKey (or fair_key:
// a tenant, say; within a queue and priority, keys are served round-robin) and fairWeight (or
// fair_weight, 1-100). A task enqueued while
// a task runs (or with TRACEPARENT set) carries that trace context in headers.traceparent.
'use strict';

const { HEADER, producerTraceparent } = require('./trace');

const TERMINAL_STATES = ['success', 'failure', 'revoked', 'expired', 'skipped'];

function taskSpec(name, args = [], options = {}) {
  if (options.countdown !== undefined && options.eta !== undefined) {
    throw new TypeError('give countdown or eta, not both');
  }
  const spec = { task: name, args: Array.from(args), kwargs: options.kwargs || {} };
  if (options.queue !== undefined) spec.queue = options.queue;
  if (options.countdown !== undefined) spec.countdown = options.countdown;
  if (options.eta !== undefined) spec.eta = options.eta instanceof Date ? options.eta.toISOString() : options.eta;
  if (options.priority !== undefined) spec.priority = options.priority;
  const maxRetries = options.maxRetries !== undefined ? options.maxRetries : options.max_retries;
  if (maxRetries !== undefined) spec.max_retries = maxRetries;
  if (options.headers && Object.keys(options.headers).length) spec.headers = { ...options.headers };
  const traceparent = producerTraceparent(options.headers);
  if (traceparent !== null) spec.headers = { ...(spec.headers || {}), [HEADER]: traceparent };
  if (options.id !== undefined) spec.id = options.id;
  const uniqueKey = options.uniqueKey !== undefined ? options.uniqueKey : options.unique_key;
  if (uniqueKey !== undefined) spec.unique_key = uniqueKey;
  const uniqueFor = options.uniqueFor !== undefined ? options.uniqueFor : options.unique_for;
  if (uniqueFor !== undefined) spec.unique_for = uniqueFor;
  if (options.expires !== undefined) {
    spec.expires = options.expires instanceof Date ? options.expires.toISOString() : options.expires;
  }
  // Time limits (seconds or "30s") may only lower the manifest's; ignoreResult keeps no record
  // of a success.
  for (const [field, camel] of [['time_limit', 'timeLimit'], ['soft_time_limit', 'softTimeLimit']]) {
    const given = options[camel] !== undefined ? options[camel] : options[field];
    if (given === undefined) continue;
    const value = seconds(given);
    if (!(value > 0)) throw new RangeError(`task '${name}': ${camel} must be above 0 seconds, got ${JSON.stringify(given)}`);
    spec[field] = value;
  }
  const ignore = options.ignoreResult !== undefined ? options.ignoreResult : options.ignore_result;
  if (ignore !== undefined && typeof ignore !== 'boolean') throw new TypeError(`task '${name}': ignoreResult must be true or false`);
  if (ignore) {
    if (options.wait) throw new TypeError(`task '${name}': wait needs a result to wait for: not with ignoreResult`);
    spec.ignore_result = true;
  }
  // A weight without a key is sent as it is: the manifest's fair_key path may give the key
  // (else the server refuses it).
  const fairKey = options.fairKey !== undefined ? options.fairKey : options.fair_key;
  if (fairKey !== undefined) spec.fair_key = fairKey;
  const fairWeight = options.fairWeight !== undefined ? options.fairWeight : options.fair_weight;
  if (fairWeight !== undefined) spec.fair_weight = fairWeight;
  checkFair(name, spec);
  return spec;
}

/** The longest fairness key in bytes of UTF-8, and the largest weight (the envelope's limits). */
const MAX_FAIR_KEY_BYTES = 256;
const MAX_FAIR_WEIGHT = 100;

/**
 * Refuses a spec's fair_key that is not a string of 1 to 256 bytes (UTF-8) and a fair_weight
 * that is not an integer from 1 to 100, naming the task and the field (as the caller spelled
 * it: `fairKey` for enqueue options, `fair_key` for a spec object).
 */
function checkFair(name, spec, camel = true) {
  const [keyName, weightName] = camel ? ['fairKey', 'fairWeight'] : ['fair_key', 'fair_weight'];
  if (spec.fair_key !== undefined) {
    const key = spec.fair_key;
    if (typeof key !== 'string') throw new TypeError(`task '${name}': ${keyName} must be a string, got ${JSON.stringify(key)}`);
    if (!key.isWellFormed()) throw new RangeError(`task '${name}': ${keyName} is not valid UTF-8 (a lone surrogate)`);
    const size = Buffer.byteLength(key, 'utf8');
    if (size < 1 || size > MAX_FAIR_KEY_BYTES) {
      throw new RangeError(`task '${name}': ${keyName} must be 1 to ${MAX_FAIR_KEY_BYTES} bytes of UTF-8, got ${size}`);
    }
  }
  if (spec.fair_weight !== undefined) {
    const weight = spec.fair_weight;
    if (typeof weight !== 'number' || !Number.isInteger(weight)) {
      throw new TypeError(`task '${name}': ${weightName} must be an integer from 1 to ${MAX_FAIR_WEIGHT}, got ${JSON.stringify(weight)}`);
    }
    if (weight < 1 || weight > MAX_FAIR_WEIGHT) {
      throw new RangeError(`task '${name}': ${weightName} must be from 1 to ${MAX_FAIR_WEIGHT}, got ${weight}`);
    }
  }
}

const UNITS = {
  '': 1, s: 1, sec: 1, secs: 1, second: 1, seconds: 1,
  ms: 0.001, msec: 0.001, millisecond: 0.001, milliseconds: 0.001,
  m: 60, min: 60, mins: 60, minute: 60, minutes: 60,
  h: 3600, hr: 3600, hrs: 3600, hour: 3600, hours: 3600,
  d: 86400, day: 86400, days: 86400,
};

/**
 * A duration in seconds, the one syntax of the CLI and both SDKs: a number of seconds, or text
 * like "500ms", "3s", "2m", "1h", "1d" (a bare number is seconds). undefined/null stay undefined.
 */
function seconds(value) {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`a duration is seconds >= 0, got ${value}`);
    return value;
  }
  const text = String(value).trim();
  if (text.startsWith('-')) throw new RangeError(`a duration cannot be negative, got ${JSON.stringify(value)}`);
  const match = /^(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)$/.exec(text);
  if (!match) throw new RangeError(`invalid duration ${JSON.stringify(value)}: expected e.g. "500ms", "5s", "2m"`);
  const unit = UNITS[match[2]];
  if (unit === undefined) throw new RangeError(`invalid duration ${JSON.stringify(value)}: unknown unit "${match[2]}" (use ms, s, m, h or d)`);
  return Number(match[1]) * unit;
}

/** A spec from a spec object, or a [name, args, options] array. */
function asSpec(item) {
  if (Array.isArray(item)) return taskSpec(item[0], item[1], item[2]);
  const spec = { ...item };
  checkFair(spec.task, spec, false);
  return spec;
}

module.exports = { TERMINAL_STATES, taskSpec, asSpec, seconds, checkFair, MAX_FAIR_KEY_BYTES, MAX_FAIR_WEIGHT };
