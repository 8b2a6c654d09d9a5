// The protocol's side of stdout: writes whole JSON lines straight to fd 1, and moves
// everything else that would print to stdout (console.log, process.stdout) to stderr.
'use strict';

const fs = require('node:fs');

const STDOUT_FD = 1;
const pause = new Int32Array(new SharedArrayBuffer(4));

/** Write all of `buffer` to `fd`, waiting out EAGAIN if the fd was made non-blocking. */
function writeAll(fd, buffer) {
  let offset = 0;
  while (offset < buffer.length) {
    try {
      offset += fs.writeSync(fd, buffer, offset, buffer.length - offset);
    } catch (err) {
      if (err.code !== 'EAGAIN') throw err;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

/** Lines held for the next write (see `hold`), oldest first. */
let held = [];

/** Keep a line (a `withdrawn`) for the next write (`flush`, or the next `writeLine`). */
function hold(text) {
  held.push(text);
}

/** Write the held lines, if any, in one write. */
function flush() {
  if (held.length === 0) return;
  const text = held.join('\n');
  held = [];
  writeText(text);
}

/** Write one protocol line now, after any held lines, in one write. */
function writeLine(text) {
  if (held.length !== 0) {
    held.push(text);
    text = held.join('\n');
    held = [];
  }
  writeText(text);
}

/**
 * Write all of `text` to `fd`: as a string first (no Buffer made for it: one per task's answer
 * is garbage the collector feels), then, after a partial write, the rest as bytes.
 */
function writeString(fd, text) {
  let written = 0;
  try {
    written = fs.writeSync(fd, text);
  } catch (err) {
    if (err.code !== 'EAGAIN') throw err;
  }
  if (written < Buffer.byteLength(text)) writeAll(fd, Buffer.from(text, 'utf8').subarray(written));
}

/** Write lines (without the last newline). The supervisor gone (EPIPE) ends the child. */
function writeText(text) {
  try {
    writeString(STDOUT_FD, text + '\n');
  } catch (err) {
    if (err.code === 'EPIPE') {
      process.stderr.write('stem: the supervisor closed the protocol pipe; exiting\n');
      process.exit(1);
    }
    throw err;
  }
}

// JSON.stringify would quietly write NaN and Infinity as null; a replacer that refuses them.
function strictNumbers(key, value) {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new RangeError(`${value} is not a JSON number`);
  }
  return value;
}

/** Write one protocol message (an object that is known to serialize). */
function send(message) {
  writeLine(JSON.stringify(message));
}

let redirected = false;

/**
 * Send task prints to stderr. `process.stdout` is replaced before Node opens fd 1 as a
 * stream (which would make it non-blocking), and the console methods that print to
 * stdout are pointed at a console that writes to stderr.
 */
function redirectStdout() {
  if (redirected) return;
  redirected = true;
  const descriptor = Object.getOwnPropertyDescriptor(process, 'stdout');
  if (descriptor && descriptor.configurable) {
    Object.defineProperty(process, 'stdout', {
      configurable: true,
      enumerable: descriptor.enumerable,
      get: () => process.stderr,
    });
  }
  const toStderr = new console.Console({ stdout: process.stderr, stderr: process.stderr });
  for (const method of ['log', 'info', 'debug', 'dir', 'dirxml', 'table']) {
    console[method] = toStderr[method].bind(toStderr);
  }
}

module.exports = { send, writeLine, hold, flush, redirectStdout, strictNumbers };
