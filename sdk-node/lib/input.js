// The child's stdin as a queue of protocol messages: each chunk a read brings is split into
// lines at once, and the serve loop takes them one by one (`take` while lines are waiting). A
// running workflow step takes its `step_ack` from the same queue (the loop is waiting on that
// task meanwhile, so the two never read at once).
//
// Pipelining: `withdraw` lines are out of band. They are taken aside as they are read, never
// queued, and their ids noted in `withdrawn` while lines wait ahead of them (a withdraw follows
// its task's line: one read while nothing waits names no waiting task). The serve loop looks a
// task's id up there when its turn comes, and forgets the noted ids when no line is left.
'use strict';

const { MAX_LINE_BYTES, LineTooLong } = require('./lines');

/** Lines queued beyond this pause the stream until the loop has taken them. */
const HIGH_WATER_LINES = 4096;
/** What a `withdraw` line holds (its type); lines without it are queued without a look. */
const WITHDRAW_MARKER = '"withdraw"';

function warn(text) {
  process.stderr.write(`stem: ${text}\n`);
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

/** A line's text from `bytes` without its trailing `\r`. */
function text(bytes, start, end) {
  if (end > start && bytes[end - 1] === 13) end -= 1;
  return bytes.toString('utf8', start, end);
}

class Input {
  constructor(stream, maxBytes = MAX_LINE_BYTES) {
    this.stream = stream;
    this.maxBytes = maxBytes;
    /** Whole lines read, not yet taken: strings, or the error that ends the stream. */
    this.queue = [];
    this.head = 0;
    this.pending = [];
    this.pendingBytes = 0;
    this.ended = false;
    this.paused = false;
    this.wake = null;
    /** True once EOF or `shutdown` was read: the child is to exit 0. */
    this.closed = false;
    /** What reading stdin threw (a line too long): the child is to exit 1. */
    this.failure = null;
    /** Ids of queued tasks a `withdraw` named (see the top of this file). */
    this.withdrawn = new Set();
    stream.on('data', (chunk) => this.push(chunk));
    stream.on('end', () => this.end());
    stream.on('error', (err) => this.end(err));
  }

  push(chunk) {
    if (this.ended) return;
    const marked = chunk.includes(WITHDRAW_MARKER);
    let start = 0;
    let newline;
    while ((newline = chunk.indexOf(10, start)) !== -1) {
      const length = this.pendingBytes + newline - start;
      if (length > this.maxBytes) return this.end(new LineTooLong(length));
      if (this.pending.length === 0) {
        const line = text(chunk, start, newline);
        if (!marked || !this.#aside(line)) this.queue.push(line);
      } else {
        const bytes = Buffer.concat([...this.pending, chunk.subarray(start, newline)]);
        this.pending = [];
        this.pendingBytes = 0;
        const line = text(bytes, 0, bytes.length);
        if (!this.#aside(line)) this.queue.push(line);
      }
      start = newline + 1;
    }
    if (start < chunk.length) {
      this.pending.push(chunk.subarray(start));
      this.pendingBytes += chunk.length - start;
      if (this.pendingBytes > this.maxBytes) return this.end(new LineTooLong(this.pendingBytes));
    }
    if (this.queue.length - this.head > HIGH_WATER_LINES && !this.paused) {
      this.paused = true;
      this.stream.pause();
    }
    this.poke();
  }

  /** Whether `line` is a `withdraw` (taken aside, its id noted if lines wait ahead of it). */
  #aside(line) {
    if (!line.includes(WITHDRAW_MARKER)) return false;
    let message;
    try {
      message = JSON.parse(line);
    } catch {
      return false;
    }
    if (message === null || typeof message !== 'object' || message.type !== 'withdraw') return false;
    if (typeof message.id !== 'string') warn(`ignoring a withdraw line without an id: ${line.slice(0, 200)}`);
    else if (this.head < this.queue.length) this.withdrawn.add(message.id);
    return true;
  }

  /** No line is waiting: the noted withdrawals are moot. */
  forget() {
    if (this.withdrawn.size !== 0) this.withdrawn.clear();
  }

  /** EOF (the last line may lack its newline), or the error that ends reading. */
  end(err) {
    if (this.ended) return;
    this.ended = true;
    if (this.pendingBytes > 0 && err === undefined) {
      const bytes = Buffer.concat(this.pending);
      this.queue.push(text(bytes, 0, bytes.length));
    }
    this.pending = [];
    this.pendingBytes = 0;
    if (err !== undefined) {
      this.queue.push(err instanceof Error ? err : new Error(String(err)));
      this.stream.destroy();
    }
    this.poke();
  }

  // The waiting reader goes on in the event loop's check phase, not in the poll phase that read
  // the data: its next turn through the loop (the serve loop's, before a task written ahead)
  // then polls stdin again, so a withdraw written while a task ran is read before the next.
  poke() {
    const wake = this.wake;
    if (wake !== null) {
      this.wake = null;
      setImmediate(wake);
    }
  }

  /** Whether a whole line is waiting (taking it needs no read). */
  ready() {
    return this.head < this.queue.length;
  }

  /**
   * The next JSON object already read (blank and non-JSON lines skipped): undefined when
   * none is waiting, null at EOF. Throws what ended reading (a line too long).
   */
  take() {
    if (this.closed) return null;
    while (this.head < this.queue.length) {
      const line = this.queue[this.head];
      this.queue[this.head++] = undefined;
      if (this.head === this.queue.length) {
        this.queue = [];
        this.head = 0;
        if (this.paused && !this.ended) {
          this.paused = false;
          this.stream.resume();
        }
      }
      if (typeof line !== 'string') {
        this.failure = line;
        this.closed = true;
        throw line;
      }
      if (line.trim() === '') continue;
      const message = parse(line);
      if (message === null) continue;
      if (message.type === 'shutdown') this.closed = true;
      return message;
    }
    if (this.ended) {
      this.closed = true;
      return null;
    }
    return undefined;
  }

  /** The next JSON object on stdin (blank and non-JSON lines skipped), or null at EOF. */
  async next() {
    for (;;) {
      const message = this.take();
      if (message !== undefined) return message;
      await new Promise((resolve) => {
        this.wake = resolve;
      });
    }
  }
}

module.exports = { Input };
