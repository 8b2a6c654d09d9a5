// The tasks this process serves: `task(name, handler)` and `workflow(name, fn)` (the task
// `wf:NAME`) register, the serve loop looks up.
'use strict';

const WORKFLOW_PREFIX = 'wf:';

/** name -> { fn, workflow }: `workflow` is true for a workflow's `wf:NAME` task. */
const handlers = new Map();

function register(api, name, fn, isWorkflow) {
  if (typeof name === 'function' && fn === undefined) {
    fn = name;
    name = fn.name;
  }
  if (typeof name !== 'string' || name === '') {
    throw new TypeError(`${api} name must be a non-empty string (or pass a named function)`);
  }
  if (typeof fn !== 'function') {
    throw new TypeError(`${api} '${name}': ${isWorkflow ? 'the workflow' : 'handler'} must be a function`);
  }
  const key = isWorkflow ? `${WORKFLOW_PREFIX}${name}` : name;
  if (handlers.has(key)) throw new Error(`${api} '${name}' is already registered`);
  handlers.set(key, { fn, workflow: isWorkflow });
  return fn;
}

/**
 * Register `handler` under `name`; `task(namedFunction)` uses the function's name.
 * The handler is called as `handler(ctx, ...args)` and may be sync or async.
 */
function task(name, handler) {
  return register('task', name, handler, false);
}

/**
 * Register the workflow `name` (served as the task `wf:NAME`); `workflow(namedFunction)` uses
 * the function's name. It is called as `fn(ctx, ...args)` with a WorkflowContext, once per
 * resume, and may be sync or async.
 */
function workflow(name, fn) {
  return register('workflow', name, fn, true);
}

/** The registered `{ fn, workflow }` under a task name, or undefined. */
function lookup(name) {
  return handlers.get(name);
}

// Sorted by code point (UTF-8 byte order), as the other SDKs sort.
function taskNames() {
  return [...handlers.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

module.exports = { task, workflow, lookup, taskNames };
