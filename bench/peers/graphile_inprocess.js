// graphile-worker with in-process no-op JS tasks and its batching turned on (localQueue,
// batched completion), the configuration of graphile-worker's own performance figures
// (https://worker.graphile.org/docs/performance: concurrentJobs 24, maxPoolSize 25,
// localQueue.size 500, completeJobBatchDelay 0, failJobBatchDelay 0). Adds N jobs in one SQL
// statement, then starts run() and times it until the last job is gone from the table (the
// batched completions committed). Uses its own database (stem_peer_gw_inproc_<pid>) on the
// local Postgres, dropped at the end. Prints one line like the other peers.
//
// Knobs: N (default 20000), GW_C (concurrency, 24), GW_LOCAL_QUEUE (localQueue.size, 500),
// GW_BATCH_DELAY (completeJobBatchDelay and failJobBatchDelay in ms, 0; -1 turns batching
// off), GW_POOL (maxPoolSize, GW_C + 1), PG (server URL without a database,
// default postgres://postgres@127.0.0.1:5432), DIR (the peers' install, /tmp/stem-peers).
const path = require('path');
const dir = process.env.DIR || '/tmp/stem-peers';
const gwDir = path.join(dir, 'gw/node_modules');
const { run, runMigrations } = require(path.join(gwDir, 'graphile-worker'));
const { Client, Pool } = require(path.join(gwDir, 'pg'));
const N = +(process.env.N || 20000);
const C = +(process.env.GW_C || 24);
const LQ = +(process.env.GW_LOCAL_QUEUE || 500);
const DELAY = +(process.env.GW_BATCH_DELAY ?? 0);
const POOL = +(process.env.GW_POOL || C + 1);
const PG = process.env.PG || 'postgres://postgres@127.0.0.1:5432';
const db = `stem_peer_gw_inproc_${process.pid}`;
const connectionString = `${PG}/${db}`;

async function admin(sql) {
  const c = new Client({ connectionString: `${PG}/postgres` });
  await c.connect();
  try { await c.query(sql); } finally { await c.end(); }
}

let runner = null;
let created = false;
let pgPool = null;
async function cleanup() {
  if (runner) { const r = runner; runner = null; await r.stop().catch(() => {}); }
  // Our own pool, ended before the drop, so no idle connection of it is cut by the drop.
  if (pgPool) { const p = pgPool; pgPool = null; await p.end().catch(() => {}); }
  if (created) { created = false; await admin(`drop database if exists ${db} with (force)`).catch(() => {}); }
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => { cleanup().finally(() => process.exit(130)); });
}

(async () => {
  await admin(`create database ${db}`);
  created = true;
  pgPool = new Pool({ connectionString, max: POOL });
  pgPool.on('error', () => {});
  pgPool.on('connect', (client) => client.on('error', () => {}));
  await runMigrations({ pgPool, logger: quietLogger() });
  const c = new Client({ connectionString });
  await c.connect();
  const t0 = Date.now();
  await c.query(`select graphile_worker.add_jobs(array(select row('noop', json_build_object('i', g), null, null, null, null, null, null)::graphile_worker.job_spec from generate_series(1, $1::int) g))`, [N]);
  const t1 = Date.now();
  let done = 0;
  let lastDone;
  const allDone = new Promise((resolve) => { lastDone = resolve; });
  const batching = DELAY >= 0;
  runner = await run({
    pgPool,
    concurrency: C,
    noHandleSignals: true,
    pollInterval: 1000,
    logger: quietLogger(),
    taskList: { noop: async (payload) => { if (++done === N) lastDone(); return payload.i; } },
    preset: {
      worker: {
        localQueue: LQ > 1 ? { size: LQ } : undefined,
        completeJobBatchDelay: DELAY,
        failJobBatchDelay: DELAY,
      },
    },
  });
  const deadline = Date.now() + +(process.env.DRAIN_TIMEOUT_MS || 600000);
  await Promise.race([allDone, new Promise((_, rej) => setTimeout(() => rej(new Error(`only ${done} of ${N} jobs ran in time`)), deadline - Date.now()).unref())]);
  // The clock stops when the last completion is committed: no job rows left.
  for (;;) {
    const { rows } = await c.query('select count(*)::int as n from graphile_worker.jobs');
    if (rows[0].n === 0) break;
    if (Date.now() > deadline) throw new Error(`${rows[0].n} jobs still in the table after the drain`);
    await new Promise((r) => setTimeout(r, 2));
  }
  const t2 = Date.now();
  await c.end();
  const kind = `in-process c=${C} localQueue=${LQ > 1 ? LQ : 'off'} batch=${batching ? DELAY + 'ms' : 'off'}`;
  console.log(`graphile-worker ${kind}: enqueue(add_jobs) ${Math.round(N / (t1 - t0) * 1000)}/s, drain ${Math.round(N / (t2 - t1) * 1000)}/s (N=${N}, worker start included)`);
  await cleanup();
  process.exit(0);
})().catch(async (e) => {
  console.error(`graphile_inprocess: ${e.message}`);
  await cleanup();
  process.exit(1);
});

function quietLogger() {
  const { Logger } = require(path.join(gwDir, 'graphile-worker'));
  return new Logger(() => (level, message) => { if (level === 'error') console.error(message); });
}
