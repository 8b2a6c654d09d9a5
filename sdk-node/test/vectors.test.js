// Replays every protocol/vectors/*.jsonl transcript (fork-server ones aside) against a real
// child running the fixture tasks (and, for workflow_*.jsonl, the fixture workflows too),
// comparing what it writes as JSON values. The `to_child` lines that follow one another are
// written with one write, so the child reads them together, as a pipelining supervisor's lines
// written ahead (the `withdraw` in pipeline.jsonl is read before its task's turn, every time).
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { Child } = require('../fixtures/harness');

const VECTORS = path.join(__dirname, '..', '..', 'protocol', 'vectors');
const ANY = '<any>';
const REST = '<rest>';

/**
 * Compare `actual` with `expected` where `"<any>"` matches any value and `"<rest>"` as a list's
 * last element the rest of the list; return a mismatch path or null.
 */
function mismatch(actual, expected, where = '$') {
  if (expected === ANY) return null;
  if (Array.isArray(expected) && expected[expected.length - 1] === REST) {
    const head = expected.slice(0, -1);
    if (!Array.isArray(actual) || actual.length < head.length) return where;
    return mismatch(actual.slice(0, head.length), head, where);
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) return where;
    for (let i = 0; i < expected.length; i += 1) {
      const found = mismatch(actual[i], expected[i], `${where}[${i}]`);
      if (found) return found;
    }
    return null;
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return where;
    const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
    for (const key of keys) {
      if (!(key in expected) || !(key in actual)) return `${where}.${key}`;
      const found = mismatch(actual[key], expected[key], `${where}.${key}`);
      if (found) return found;
    }
    return null;
  }
  return Object.is(actual, expected) ? null : where;
}

// canvas.jsonl holds canvas documents (canvas.test.js replays it) and signing.jsonl signing
// cases (signing.test.js): not transcripts.
const files = fs
  .readdirSync(VECTORS)
  .filter((name) => name.endsWith('.jsonl') && !name.startsWith('forkserver') && name !== 'canvas.jsonl' && name !== 'signing.jsonl')
  .sort();

test('there are vectors to replay', () => {
  assert.ok(files.length > 0, `no vectors in ${VECTORS}`);
});

for (const file of files) {
  test(`vector ${file}`, async () => {
    const steps = fs
      .readFileSync(path.join(VECTORS, file), 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line));
    const child = new Child(file.startsWith('workflow_') ? 'vector-workflows.js' : 'vector-tasks.js');
    let unsent = [];
    try {
      for (const [index, step] of steps.entries()) {
        if ('to_child' in step) {
          unsent.push(step.to_child);
        } else {
          if (unsent.length > 0) {
            child.sendAll(unsent);
            unsent = [];
          }
          const actual = await child.next();
          const where = mismatch(actual, step.from_child);
          assert.equal(
            where,
            null,
            `line ${index + 1} differs at ${where}\nexpected ${JSON.stringify(step.from_child)}\nactual   ${JSON.stringify(actual)}`,
          );
        }
      }
      if (unsent.length > 0) child.sendAll(unsent);
      const { code } = await child.exited();
      assert.equal(code, 0, `exit status; stderr:\n${child.stderr}`);
      assert.deepEqual(child.lines.filter((line) => line !== ''), [], 'no stdout lines beyond the transcript');
    } finally {
      child.kill();
    }
  });
}
