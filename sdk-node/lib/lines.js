// Splits a byte stream (the child's stdin) into UTF-8 lines, refusing over-long ones.
'use strict';

/** The protocol's longest line, in bytes without the newline. */
const MAX_LINE_BYTES = 16 * 1024 * 1024;

class LineTooLong extends Error {
  constructor(bytes) {
    super(`a protocol line on stdin exceeds ${MAX_LINE_BYTES} bytes (${bytes} read so far)`);
    this.name = 'LineTooLong';
  }
}

/** Yield each `\n`-terminated line (a trailing `\r` removed); the last may lack `\n`. */
async function* readLines(stream, maxBytes = MAX_LINE_BYTES) {
  let pending = [];
  let pendingBytes = 0;
  const take = (tail) => {
    const bytes = pending.length === 0 ? tail : Buffer.concat([...pending, tail]);
    pending = [];
    pendingBytes = 0;
    const end = bytes.length > 0 && bytes[bytes.length - 1] === 13 ? bytes.length - 1 : bytes.length;
    return bytes.toString('utf8', 0, end);
  };
  for await (const chunk of stream) {
    let start = 0;
    let newline;
    while ((newline = chunk.indexOf(10, start)) !== -1) {
      if (pendingBytes + newline - start > maxBytes) throw new LineTooLong(pendingBytes + newline - start);
      yield take(chunk.subarray(start, newline));
      start = newline + 1;
    }
    if (start < chunk.length) {
      pending.push(chunk.subarray(start));
      pendingBytes += chunk.length - start;
      if (pendingBytes > maxBytes) throw new LineTooLong(pendingBytes);
    }
  }
  if (pendingBytes > 0) yield take(Buffer.alloc(0));
}

module.exports = { readLines, LineTooLong, MAX_LINE_BYTES };
