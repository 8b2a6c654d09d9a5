// The child's stdin as a queue of protocol messages, pulled one at a time: the serve loop
// takes `task` lines from it, and a running workflow step takes its `step_ack` from the same
// queue (the loop is waiting on that task meanwhile, so the two never read at once).
'use strict';

const { readLines } = require('./lines');

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

class Input {
  constructor(stream) {
    this.lines = readLines(stream)[Symbol.asyncIterator]();
    /** True once EOF or `shutdown` was read: the child is to exit 0. */
    this.closed = false;
    /** What reading stdin threw (a line too long): the child is to exit 1. */
    this.failure = null;
  }

  /** The next JSON object on stdin (blank and non-JSON lines skipped), or null at EOF. */
  async next() {
    if (this.closed) return null;
    for (;;) {
      let step;
      try {
        step = await this.lines.next();
      } catch (err) {
        this.failure = err;
        this.closed = true;
        throw err;
      }
      if (step.done) {
        this.closed = true;
        return null;
      }
      if (step.value.trim() === '') continue;
      const message = parse(step.value);
      if (message === null) continue;
      if (message.type === 'shutdown') this.closed = true;
      return message;
    }
  }
}

module.exports = { Input };
