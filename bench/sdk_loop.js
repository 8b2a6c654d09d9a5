// The Node SDK's own CPU per task: the serve loop's runTask in this process, no pipe: the task
// line's parse, the context, the call, the answer's encoding; writes to fd 1 are counted in
// memory (fs.writeSync replaced), each answer written as its task ends (the flush every 32
// tasks, kept for SDKs that hold answers, has nothing to do). Prints the best of ROUNDS runs of N no-op tasks as "US_CPU_PER_TASK".
//
// usage: node sdk_loop.js [N [ROUNDS]] [SDK_DIR]
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const n = Number(process.argv[2] || 50000);
const rounds = Number(process.argv[3] || 5);
const sdk = process.argv[4] || path.join(__dirname, '..', 'sdk-node');
const BATCH = 32;

let written = 0;
const realWriteSync = fs.writeSync;
fs.writeSync = (fd, buffer, offset, length) => {
  if (fd !== 1) return realWriteSync(fd, buffer, offset, length);
  const size = length === undefined ? buffer.length - (offset || 0) : length;
  written += size;
  return size;
};

const { task } = require(path.join(sdk, 'lib', 'registry'));
const serve = require(path.join(sdk, 'lib', 'serve'));
const wire = require(path.join(sdk, 'lib', 'wire'));

task('noop', (ctx, i) => (i === undefined ? null : i));

const raws = [];
for (let i = 0; i < n; i++) {
  raws.push(JSON.stringify({ type: 'task', id: `t${i}`, name: 'noop', args: [i], kwargs: {}, queue: 'bench',
    attempt: 1, retries_left: 0, headers: {} }));
}

async function oneRound() {
  const flush = wire.flush;
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    await serve.runTask(JSON.parse(raws[i]), null);
    if (flush !== undefined && i % BATCH === BATCH - 1) flush();
  }
  if (flush !== undefined) flush();
  const used = process.cpuUsage(t0);
  return (used.user + used.system) / n;
}

async function main() {
  let best = Infinity;
  for (let r = 0; r < rounds; r++) best = Math.min(best, await oneRound());
  if (written === 0) throw new Error('no answer was written');
  fs.writeSync = realWriteSync;
  fs.writeSync(1, `${best.toFixed(2)}\n`);
}

main().catch((err) => {
  fs.writeSync = realWriteSync;
  console.error(err);
  process.exit(1);
});
