// The task spec a producer sends ({task, args, kwargs, ...}), from the same options as the
// Python SDK: queue, countdown (seconds or "5s"), eta (a Date, an RFC 3339 string or epoch
// milliseconds), priority (0-9), maxRetries (or max_retries), headers, id. A task enqueued while
// a task runs (or with TRACEPARENT set) carries that trace context in headers.traceparent.
'use strict';

const { HEADER, producerTraceparent } = require('./trace');

const TERMINAL_STATES = ['success', 'failure', 'revoked'];

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
  return spec;
}

/** A spec from a spec object, or a [name, args, options] array. */
function asSpec(item) {
  if (Array.isArray(item)) return taskSpec(item[0], item[1], item[2]);
  return { ...item };
}

module.exports = { TERMINAL_STATES, taskSpec, asSpec };
