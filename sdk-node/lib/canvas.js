// Producer-side canvas builders: signature, chain, group and chord build the JSON canvas
// document of protocol/PROTOCOL.md ("Canvas"); `.submit()` hands it to `stem canvas submit`
// through the producer Client and resolves to a CanvasResult (`await handle.get()`).
//
// Documents are canonical: keys holding their default (no args, kwargs or options, immutable
// false, no callbacks) are left out and callbacks are lists, so every SDK builds the same
// document for the same calls (protocol/vectors/canvas.jsonl).
'use strict';

const { Client } = require('./client');
const { TaskFailed } = require('./producer-errors');
const { seconds } = require('./spec');

const TERMINAL = new Set(['success', 'failure', 'revoked', 'expired', 'skipped']);

/**
 * The TaskFailed (the producer's one class) for a canvas that ended in `failure` or
 * `revoked`: `.error` is the failed node's `{type, message}`, `.failed` names the node,
 * `.node` is its view and `.view` the canvas's.
 */
function canvasFailed(view) {
  const node = (view.nodes || []).find((n) => n.state === 'failure');
  const text = node && node.error ? String(node.error) : `canvas ${view.state}`;
  const cut = text.indexOf(': ');
  const error = node && cut > 0 ? { type: text.slice(0, cut), message: text.slice(cut + 2) } : { type: view.state, message: text };
  const err = new TaskFailed({ id: view.id, state: view.state, error });
  err.message = `canvas ${view.id} ${view.state}: ${text}${view.failed ? ` at ${view.failed}` : ''}`;
  err.stack = `${err.name}: ${err.message}\n${String(err.stack).split('\n').slice(1).join('\n')}`;
  err.failed = view.failed;
  err.node = node;
  err.view = view;
  return err;
}

/** A node of a canvas: a signature, chain, group or chord. */
class Canvas {
  /** A chain of this node and `next` (the Node spelling of Python's `a | b`). */
  pipe(...next) {
    return chain(this, ...next);
  }

  /** Submit the canvas (`stem canvas submit -`); resolves to its handle. */
  async submit(client = new Client()) {
    const reply = await client.submitCanvas(this.toJSON());
    return new CanvasResult(reply.id, client, reply);
  }
}

/** One task: its name, arguments, options and callbacks. */
class Signature extends Canvas {
  constructor(task, args = [], options = {}) {
    super();
    if (typeof task !== 'string' || task.trim() === '') throw new TypeError(`a signature names its task, got ${JSON.stringify(task)}`);
    if (!Array.isArray(args)) throw new TypeError(`signature ${task}: args is an array, got ${JSON.stringify(args)}`);
    for (const field of ['fairKey', 'fair_key', 'fairWeight', 'fair_weight']) {
      // A canvas document has no fairness fields (protocol/PROTOCOL.md, "Canvas"): refused, not dropped.
      if (options[field] !== undefined) throw new TypeError(`signature ${task}: ${field} is not a canvas option (queue, priority, countdown, maxRetries, headers); enqueue keyed tasks with Client.enqueue`);
    }
    this.task = task;
    this.args = [...args];
    this.kwargs = { ...(options.kwargs || {}) };
    this.options = {};
    const maxRetries = options.maxRetries !== undefined ? options.maxRetries : options.max_retries;
    const given = { queue: options.queue, priority: options.priority, countdown: options.countdown, max_retries: maxRetries };
    for (const [key, value] of Object.entries(given)) if (value !== undefined && value !== null) this.options[key] = value;
    if (options.headers && Object.keys(options.headers).length) this.options.headers = { ...options.headers };
    this.immutable = Boolean(options.immutable);
    this.links = [];
    this.errorLinks = [];
  }

  /** Run `callback` with this task's result when it succeeds. Returns this signature. */
  link(callback) {
    this.links.push(signatureOnly(callback, 'link'));
    return this;
  }

  /** Run `callback` with `{task_id, name, error}` when this task fails for good. Returns this. */
  linkError(callback) {
    this.errorLinks.push(signatureOnly(callback, 'linkError'));
    return this;
  }

  toJSON() {
    const doc = { task: this.task };
    if (this.args.length) doc.args = [...this.args];
    if (Object.keys(this.kwargs).length) doc.kwargs = { ...this.kwargs };
    if (Object.keys(this.options).length) doc.options = { ...this.options };
    if (this.immutable) doc.immutable = true;
    if (this.links.length) doc.link = this.links.map((s) => s.toJSON());
    if (this.errorLinks.length) doc.link_error = this.errorLinks.map((s) => s.toJSON());
    return doc;
  }
}

class Chain extends Canvas {
  constructor(nodes) {
    super();
    this.nodes = checkNodes(nodes, 'chain');
  }

  toJSON() {
    return { chain: this.nodes.map((n) => n.toJSON()) };
  }
}

class Group extends Canvas {
  constructor(members) {
    super();
    this.members = checkNodes(members, 'group');
  }

  toJSON() {
    return { group: this.members.map((m) => m.toJSON()) };
  }
}

class Chord extends Canvas {
  constructor(header, body, onComplete = false) {
    super();
    this.header = checkNodes(header, 'chord header');
    const what = onComplete ? 'onComplete' : 'body';
    if (!(body instanceof Canvas)) throw new TypeError(`a chord's ${what} is a signature or canvas, got ${JSON.stringify(body)}`);
    this.body = body;
    this.onComplete = onComplete;
  }

  toJSON() {
    return { chord: { header: this.header.map((h) => h.toJSON()), [this.onComplete ? 'on_complete' : 'body']: this.body.toJSON() } };
  }
}

/** `signature('add', [1, 2], {kwargs, queue, priority, countdown, maxRetries, headers, immutable})`. */
function signature(task, args = [], options = {}) {
  return new Signature(task, args, options);
}

/** `chain(a, b, c)` or `chain([a, b, c])`; nested chains are flattened. */
function chain(...nodes) {
  return new Chain(spread(nodes).flatMap((n) => (n instanceof Chain ? n.nodes : [n])));
}

/** `group(a, b)` or `group([a, b])`. */
function group(...members) {
  return new Group(spread(members));
}

/** `chord([a, b], body)` or `chord(group(a, b), body)`. */
function chord(header, body) {
  const members = header instanceof Group ? header.members : [...header];
  // `chord(header, { onComplete: callback })`: the callback runs once every member finished,
  // whatever the outcomes, with their outcomes in member order.
  if (body !== null && typeof body === 'object' && !(body instanceof Canvas)) {
    const keys = Object.keys(body);
    if (keys.length !== 1 || keys[0] !== 'onComplete') {
      throw new TypeError(`a chord takes a body or { onComplete: callback }, got keys ${JSON.stringify(keys)}`);
    }
    return new Chord(members, body.onComplete, true);
  }
  return new Chord(members, body);
}

/** A submitted canvas: `.id`, `await show()` (every node with its state), `await get()`. */
class CanvasResult {
  constructor(id, client, submitted) {
    this.id = id;
    this.client = client;
    this.submitted = submitted || { id };
  }

  /** The canvas view: `{id, state, result, failed, nodes: [{path, task, task_id, state, error}]}`. */
  show() {
    return this.client.showCanvas(this.id);
  }

  /**
   * Wait for the canvas and resolve to its final result. A failed or revoked canvas rejects
   * with TaskFailed; no outcome within `timeout` seconds rejects with a timeout error.
   */
  async get(options = {}) {
    // `get(30)` as a task handle takes it, or `get({ timeout: 30 })`.
    if (typeof options !== 'object' || options === null) options = { timeout: options };
    let { timeout } = options;
    const { interval = 0.1 } = options;
    timeout = seconds(timeout);
    const deadline = timeout === undefined ? Infinity : Date.now() + timeout * 1000;
    let pause = interval * 1000;
    for (;;) {
      const view = await this.show();
      if (TERMINAL.has(view.state)) {
        if (view.state !== 'success') throw canvasFailed(view);
        return view.result;
      }
      if (Date.now() >= deadline) {
        const err = new Error(`canvas ${this.id} is still ${view.state} after ${timeout}s`);
        err.code = 'ETIMEDOUT';
        throw err;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(pause, deadline - Date.now()))));
      pause = Math.min(pause * 1.5, 2000);
    }
  }
}

function signatureOnly(callback, what) {
  if (!(callback instanceof Signature)) throw new TypeError(`a ${what} callback is a signature, got ${JSON.stringify(callback)}`);
  return callback;
}

/** The arguments as given, or the one array (or iterable) given. */
function spread(items) {
  if (items.length === 1 && !(items[0] instanceof Canvas) && items[0] && typeof items[0][Symbol.iterator] === 'function') {
    return [...items[0]];
  }
  return items;
}

function checkNodes(nodes, what) {
  const list = [...nodes];
  if (list.length === 0) throw new TypeError(`an empty ${what}`);
  for (const n of list) {
    if (!(n instanceof Canvas)) throw new TypeError(`a ${what} holds signatures or canvases, got ${JSON.stringify(n)}`);
  }
  return list;
}

module.exports = { signature, chain, group, chord, Signature, Chain, Group, Chord, Canvas, CanvasResult, TaskFailed, canvasFailed };
