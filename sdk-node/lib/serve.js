// The child's serve loop: announce the registered tasks, run each `task` line through its
// handler (one at a time; a workflow's `wf:NAME` task as one resume of its run, reading its
// steps' acks from the same stdin), write its `result` or `error` as it ends, and exit 0 on
// `shutdown` or EOF. It pipelines (`hello.pipeline`): task lines written ahead wait in the
// input, each task is answered before the next starts, and a task a `withdraw` named is
// answered `withdrawn` instead of run.
'use strict';

const os = require('node:os');
const { send, writeLine, hold, flush, redirectStdout, strictNumbers } = require('./wire');
const { Context, finish } = require('./context');
const trace = require('./trace');
const { lookup, taskNames } = require('./registry');
const { SoftTimeLimitExceeded, toErrorPayload } = require('./errors');
const { MAX_LINE_BYTES } = require('./lines');
const { Input } = require('./input');
const { Resume } = require('./resume');
const { WorkflowContext } = require('./workflow-context');
const { invalidRun } = require('./journal');
const { version } = require('../package.json');

const PROTOCOL_VERSION = 1;
/** How many task lines the loop takes ahead of the task it runs (`hello.pipeline`). */
const PIPELINE = 32;
const DEFAULT_SOFT_SIGNAL = 'SIGUSR2';

/** The task being run now: its context and the controller behind `ctx.signal` (made when
 * the task first reads `ctx.signal`, or when the soft limit comes). */
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
  const message = `the result of task '${ctx.taskName || ctx.name}' is not JSON-serializable: ${detail}`;
  return errorLine(ctx.id, { type, message, traceback: '', retryable: false });
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

function protocolRefusal(id, text) {
  return writeLine(errorLine(id, { type: 'ProtocolError', message: text, traceback: '', retryable: false }));
}

/** Run a plain task's handler: `{ value }` or `{ thrown }`. */
async function settleTask(fn, ctx, args) {
  try {
    return { value: await fn(ctx, ...args) };
  } catch (thrown) {
    return { thrown };
  }
}

/**
 * Run one task line and write its `result` or `error` as it ends, in one write, before anything
 * else runs (the supervisor counts the next task's limits from it).
 */
async function runTask(message, input) {
  if (typeof message.id !== 'string') return warn('ignoring a task line without a string id');
  const entry = lookup(message.name);
  if (entry === undefined) {
    const text = `no task named '${message.name}' is registered`;
    return writeLine(errorLine(message.id, { type: 'UnknownTask', message: text, traceback: '', retryable: false }));
  }
  const { args = [], kwargs = {} } = message;
  if (!Array.isArray(args) || kwargs === null || typeof kwargs !== 'object' || Array.isArray(kwargs)) {
    return protocolRefusal(message.id, `task '${message.name}': args must be an array and kwargs an object`);
  }
  if (entry.workflow) {
    const invalid = message.workflow === undefined ? 'the task line has no workflow field' : invalidRun(message.workflow);
    if (invalid !== null) return protocolRefusal(message.id, `workflow task '${message.name}': ${invalid}`);
  }
  const slot = { ctx: null, controller: null };
  const signal = () => controllerOf(slot).signal;
  const resume = entry.workflow ? new Resume(message, input) : null;
  const ctx = resume === null ? new Context(message, signal) : new WorkflowContext(message, signal, resume);
  slot.ctx = ctx;
  running = slot;
  const span = trace.startSpan(ctx);
  const settled = resume === null ? await settleTask(entry.fn, ctx, args) : await resume.settle(entry.fn, ctx, args);
  let outcome = null;
  let failure = null;
  if ('value' in settled) {
    outcome = resultLine(ctx, settled.value);
  } else if (settled.suspended) {
    outcome = resultLine(ctx, null);
  } else if ('thrown' in settled || settled.error !== undefined) {
    const payload = settled.error !== undefined ? settled.error : toErrorPayload(settled.thrown);
    failure = payload.message;
    outcome = errorLine(ctx.id, payload);
  }
  // Otherwise stdin closed while a step waited for its ack: no answer, the child exits.
  running = null;
  finish(ctx);
  if (span !== null) await span.end(failure);
  if (outcome !== null) writeLine(outcome);
}

function signalName(raw) {
  const text = String(raw).trim().toUpperCase();
  if (/^\d+$/.test(text)) {
    return Object.keys(os.constants.signals).find((name) => os.constants.signals[name] === Number(text));
  }
  const name = text.startsWith('SIG') ? text : `SIG${text}`;
  return name in os.constants.signals ? name : undefined;
}

function controllerOf(slot) {
  if (slot.controller === null) slot.controller = new AbortController();
  return slot.controller;
}

function onSoftLimit() {
  if (running === null) return;
  const controller = controllerOf(running);
  if (!controller.signal.aborted) controller.abort(new SoftTimeLimitExceeded());
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
  send({ type: 'hello', protocol: PROTOCOL_VERSION, sdk: `stem-node/${version}`, tasks: taskNames(), pipeline: PIPELINE });
  const input = new Input(process.stdin);
  const { withdrawn } = input;
  try {
    while (!input.closed) {
      let message;
      if (input.ready()) {
        // Lines wait: one turn of the event loop first reads what else came on stdin (a
        // withdraw of one of them) without blocking.
        await new Promise(setImmediate);
        message = input.take();
      }
      if (message === undefined) {
        flush(); // held `withdrawn` lines go out before the loop waits
        input.forget();
        message = await input.next();
      }
      if (message === null || message.type === 'shutdown') break;
      if (message.type === 'task') {
        if (withdrawn.size !== 0 && withdrawn.delete(message.id)) {
          hold(JSON.stringify({ type: 'withdrawn', id: message.id })); // out with the next write
          continue;
        }
        flush(); // before the task starts, not after it: a task that hangs holds nothing
        await runTask(message, input);
      } else if (message.type === 'withdraw') {
        // Not taken aside (the last line, unterminated): it names no waiting task.
      } else if (message.type === 'step_ack') {
        warn(`ignoring a step_ack no step waits for: ${JSON.stringify(message).slice(0, 200)}`);
      } else {
        warn(`ignoring a message of unknown type ${JSON.stringify(message.type)}`);
      }
    }
  } catch (err) {
    flush();
    warn(err.message);
    process.exit(1);
  }
  flush();
  if (input.failure !== null) {
    warn(input.failure.message);
    process.exit(1);
  }
  process.exit(0);
}

module.exports = { run, runTask };
