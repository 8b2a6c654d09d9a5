// The child's serve loop: announce the registered tasks, run each `task` line through its
// handler (one at a time), write its `result` or `error`, and exit 0 on `shutdown` or EOF.
'use strict';

const os = require('node:os');
const { send, writeLine, redirectStdout } = require('./wire');
const { Context, finish } = require('./context');
const trace = require('./trace');
const { lookup, taskNames } = require('./registry');
const { SoftTimeLimitExceeded, toErrorPayload } = require('./errors');
const { readLines, MAX_LINE_BYTES } = require('./lines');
const { version } = require('../package.json');

const PROTOCOL_VERSION = 1;
const DEFAULT_SOFT_SIGNAL = 'SIGUSR2';

/** The task being run now: its context and the controller behind `ctx.signal`. */
let running = null;
let started = false;

function warn(text) {
  process.stderr.write(`stem: ${text}\n`);
}

function errorLine(id, error) {
  return JSON.stringify({ type: 'error', id, error });
}

// Deterministic: running the task again would redo its work and fail the same way.
function notSerializable(ctx, type, detail) {
  const message = `the result of task '${ctx.name}' is not JSON-serializable: ${detail}`;
  return errorLine(ctx.id, { type, message, traceback: '', retryable: false });
}

// JSON.stringify would quietly write NaN and Infinity as null; refuse them as the other SDKs do.
function strictNumbers(key, value) {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new RangeError(`${value} is not a JSON number`);
  }
  return value;
}

function resultLine(ctx, value) {
  const id = ctx.id;
  let encoded;
  try {
    encoded = JSON.stringify(value === undefined ? null : value, strictNumbers);
  } catch (err) {
    const type = err instanceof Error ? err.name : 'TypeError';
    return notSerializable(ctx, type, err && err.message ? err.message : String(err));
  }
  if (encoded === undefined) return notSerializable(ctx, 'TypeError', `a ${typeof value} has no JSON form`);
  const line = `{"type":"result","id":${JSON.stringify(id)},"value":${encoded}}`;
  if (line.length > MAX_LINE_BYTES / 3 && Buffer.byteLength(line) > MAX_LINE_BYTES) {
    const message = `task result is ${Buffer.byteLength(encoded)} bytes of JSON; the protocol's limit is ${MAX_LINE_BYTES}`;
    return errorLine(id, { type: 'ResultTooLarge', message, traceback: '', retryable: false });
  }
  return line;
}

async function runTask(message) {
  if (typeof message.id !== 'string') return warn('ignoring a task line without a string id');
  const handler = lookup(message.name);
  if (handler === undefined) {
    const text = `no task named '${message.name}' is registered`;
    return writeLine(errorLine(message.id, { type: 'UnknownTask', message: text, traceback: '', retryable: false }));
  }
  const { args = [], kwargs = {} } = message;
  if (!Array.isArray(args) || kwargs === null || typeof kwargs !== 'object' || Array.isArray(kwargs)) {
    const text = `task '${message.name}': args must be an array and kwargs an object`;
    return writeLine(errorLine(message.id, { type: 'ProtocolError', message: text, traceback: '', retryable: false }));
  }
  const controller = new AbortController();
  const ctx = new Context(message, controller.signal);
  running = { ctx, controller };
  const span = trace.startSpan(ctx);
  let outcome;
  let failure = null;
  try {
    outcome = resultLine(ctx, await handler(ctx, ...args));
  } catch (thrown) {
    const payload = toErrorPayload(thrown);
    failure = payload.message;
    outcome = errorLine(ctx.id, payload);
  }
  running = null;
  finish(ctx);
  await span.end(failure);
  writeLine(outcome);
}

function signalName(raw) {
  const text = String(raw).trim().toUpperCase();
  if (/^\d+$/.test(text)) {
    return Object.keys(os.constants.signals).find((name) => os.constants.signals[name] === Number(text));
  }
  const name = text.startsWith('SIG') ? text : `SIG${text}`;
  return name in os.constants.signals ? name : undefined;
}

function onSoftLimit() {
  if (running === null || running.controller.signal.aborted) return;
  running.controller.abort(new SoftTimeLimitExceeded());
}

/** Listen for the soft-limit signal named in STEM_SOFT_SIGNAL (SIGUSR2 by default). */
function installSoftLimit() {
  const raw = process.env.STEM_SOFT_SIGNAL || DEFAULT_SOFT_SIGNAL;
  const name = signalName(raw);
  if (name === undefined) refuse(`STEM_SOFT_SIGNAL=${raw} is not a signal this platform knows`);
  try {
    process.on(name, onSoftLimit);
  } catch (err) {
    refuse(`cannot listen for the soft-limit signal ${name}: ${err.message}`);
  }
}

/** A setting this SDK cannot honour: say so and exit before `hello`. */
function refuse(text) {
  warn(text);
  process.exit(2);
}

/** `process` and `pool` share this loop; a fork server needs fork(), which Node lacks. */
function checkIsolation() {
  const isolation = process.env.STEM_ISOLATION || 'process';
  if (isolation === 'forkserver') refuse('forkserver isolation is not supported by the Node SDK; use process or pool');
  if (isolation !== 'process' && isolation !== 'pool') {
    refuse(`unknown STEM_ISOLATION=${isolation} (one of process, pool)`);
  }
}

/** A throw outside the handler's promise (a timer, a stray rejection) fails the running task. */
function installCrashReport() {
  process.on('uncaughtException', (err, origin) => {
    const current = running;
    running = null;
    if (current !== null) {
      finish(current.ctx);
      writeLine(errorLine(current.ctx.id, toErrorPayload(err)));
      warn(`task ${current.ctx.id} threw outside its handler (${origin}); exiting`);
    }
    warn(`uncaught ${origin}: ${err && err.stack ? err.stack : String(err)}`);
    process.exit(1);
  });
}

function parse(line) {
  try {
    const message = JSON.parse(line);
    if (message !== null && typeof message === 'object' && !Array.isArray(message)) return message;
  } catch {
    // reported below
  }
  warn(`ignoring a stdin line that is not a JSON object: ${line.slice(0, 200)}`);
  return null;
}

/**
 * Serve the protocol on stdin/stdout until `shutdown` or EOF, then exit the process
 * with status 0. Call it once, after registering the tasks.
 */
async function run() {
  if (started) throw new Error('run() was already called');
  started = true;
  redirectStdout();
  checkIsolation();
  installSoftLimit();
  installCrashReport();
  send({ type: 'hello', protocol: PROTOCOL_VERSION, sdk: `stem-node/${version}`, tasks: taskNames() });
  try {
    for await (const line of readLines(process.stdin)) {
      if (line.trim() === '') continue;
      const message = parse(line);
      if (message === null) continue;
      if (message.type === 'shutdown') break;
      if (message.type === 'task') await runTask(message);
      else warn(`ignoring a message of unknown type ${JSON.stringify(message.type)}`);
    }
  } catch (err) {
    warn(err.message);
    process.exit(1);
  }
  process.exit(0);
}

module.exports = { run };
