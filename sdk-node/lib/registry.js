// The tasks this process serves: `task(name, handler)` registers, the serve loop looks up.
'use strict';

const handlers = new Map();

/**
 * Register `handler` under `name`; `task(namedFunction)` uses the function's name.
 * The handler is called as `handler(ctx, ...args)` and may be sync or async.
 */
function task(name, handler) {
  if (typeof name === 'function' && handler === undefined) {
    handler = name;
    name = handler.name;
  }
  if (typeof name !== 'string' || name === '') {
    throw new TypeError('task name must be a non-empty string (or pass a named function)');
  }
  if (typeof handler !== 'function') {
    throw new TypeError(`task '${name}': handler must be a function`);
  }
  if (handlers.has(name)) throw new Error(`task '${name}' is already registered`);
  handlers.set(name, handler);
  return handler;
}

function lookup(name) {
  return handlers.get(name);
}

// Sorted by code point (UTF-8 byte order), as the other SDKs sort.
function taskNames() {
  return [...handlers.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

module.exports = { task, lookup, taskNames };
