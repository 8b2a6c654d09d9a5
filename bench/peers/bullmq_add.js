// BullMQ's enqueue calls alone: N jobs with add() one at a time, then N with addBulk() in
// batches of 1000, on Redis db 0 (queue "stem-peerbench-add"). Prints both rates.
const path = require('path');
const dir = process.env.DIR || '/tmp/stem-peers';
const { Queue } = require(path.join(dir, 'bull/node_modules/bullmq'));
const N = +(process.env.N || 10000);
const NB = +(process.env.N_BULK || N);
const connection = { host: '127.0.0.1', port: 6379, db: 0 };
(async () => {
  const q = new Queue('stem-peerbench-add', { connection });
  await q.obliterate({ force: true }).catch(() => {});
  const t0 = Date.now();
  for (let i = 0; i < N; i += 1) await q.add('noop', { i });
  const t1 = Date.now();
  const jobs = Array.from({ length: NB }, (_, i) => ({ name: 'noop', data: { i } }));
  for (let i = 0; i < NB; i += 1000) await q.addBulk(jobs.slice(i, i + 1000));
  const t2 = Date.now();
  console.log(`bullmq-add redis ${N} ${Math.round(N / (t1 - t0) * 1000)}`);
  console.log(`bullmq-addbulk redis ${NB} ${Math.round(NB / (t2 - t1) * 1000)}`);
  await q.obliterate({ force: true }).catch(() => {});
  await q.close();
  process.exit(0);
})();
