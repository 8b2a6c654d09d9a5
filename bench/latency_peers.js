// Enqueue-to-start latency of the Node peers, measured as bench/latency.sh measures Stem:
// a producer process adds no-op jobs one at a time at RATE per second for SECONDS (light
// load), then a burst of 10 x RATE in one batch call (addBulk / addJobs); a worker process
// (forked from this script, in-process processors) records, in the processor, the time since
// the producer's timestamp in the job's data. Both timestamps are CLOCK_MONOTONIC
// (process.hrtime), shared by every process on the machine, in ms.
//
//   node bench/latency_peers.js bullmq     # in-process Worker, concurrency PEER_C (50)
//   node bench/latency_peers.js graphile   # run() with taskList, concurrency GW_C (24),
//                                          # localQueue GW_LOCAL_QUEUE (500), batch delay 0
//
// Prints one tab-separated line per phase: line, measure, phase, n, p50, p99, max (ms).
// BullMQ uses REDIS_URL (default redis://127.0.0.1:6379/9) under its own key prefix, removed
// at the end; graphile-worker its own database stem_peer_gw_lat_<pid>, dropped at the end.
// Knobs: RATE (100), SECONDS (5), PEER_C, GW_C, GW_LOCAL_QUEUE, GW_BATCH_DELAY, REDIS_URL, PG,
// DIR (the peers' install, /tmp/stem-peers).
const path = require('path');
const { fork } = require('child_process');
const dir = process.env.DIR || '/tmp/stem-peers';
const peer = process.argv[2];
const role = process.argv[3] || 'producer';
const RATE = +(process.env.RATE || 100);
const SECONDS = +(process.env.SECONDS || 5);
const PEER_C = +(process.env.PEER_C || 50);
const GW_C = +(process.env.GW_C || 24);
const GW_LQ = +(process.env.GW_LOCAL_QUEUE || 500);
const GW_DELAY = +(process.env.GW_BATCH_DELAY ?? 0);
const REDIS_URL = new URL(process.env.REDIS_URL || 'redis://127.0.0.1:6379/9');
const PG = process.env.PG || 'postgres://postgres@127.0.0.1:5432';
const tag = process.env.LAT_TAG || `stem_peer_lat_${process.pid}`;
const now = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

const connection = {
  host: REDIS_URL.hostname, port: +(REDIS_URL.port || 6379),
  db: +(REDIS_URL.pathname.slice(1) || 0), maxRetriesPerRequest: null,
};
const gwDb = `${PG}/${tag}`;
const gw = () => require(path.join(dir, 'gw/node_modules/graphile-worker'));
const bull = () => require(path.join(dir, 'bull/node_modules/bullmq'));

async function pgAdmin(sql) {
  const { Client } = require(path.join(dir, 'gw/node_modules/pg'));
  const c = new Client({ connectionString: `${PG}/postgres` });
  await c.connect();
  try { await c.query(sql); } finally { await c.end(); }
}
function quietLogger() {
  const { Logger } = gw();
  return new Logger(() => (level, message) => { if (level === 'error') console.error(message); });
}

// ---- the worker process: records latencies, answers the producer over IPC -----------------
async function worker() {
  const lats = { warm: [], light: [], burst: [] };
  const onJob = (data) => { lats[data.phase].push(now() - data.t); return null; };
  let stop;
  if (peer === 'bullmq') {
    const { Worker } = bull();
    const w = new Worker(tag, async (job) => onJob(job.data), { connection, prefix: tag, concurrency: PEER_C });
    await w.waitUntilReady();
    stop = () => w.close();
  } else {
    const { Pool } = require(path.join(dir, 'gw/node_modules/pg'));
    const pgPool = new Pool({ connectionString: gwDb, max: GW_C + 1 });
    pgPool.on('error', () => {});
    pgPool.on('connect', (client) => client.on('error', () => {}));
    const runner = await gw().run({
      pgPool, concurrency: GW_C, noHandleSignals: true,
      logger: quietLogger(), taskList: { noop: async (payload) => onJob(payload) },
      preset: { worker: { localQueue: GW_LQ > 1 ? { size: GW_LQ } : undefined, completeJobBatchDelay: GW_DELAY, failJobBatchDelay: GW_DELAY } },
    });
    stop = async () => { await runner.stop(); await pgPool.end(); };
  }
  process.on('message', async (m) => {
    if (m.type === 'count') process.send({ type: 'count', n: lats[m.phase].length });
    if (m.type === 'get') process.send({ type: 'lats', lats: lats[m.phase] });
    if (m.type === 'stop') { await stop().catch(() => {}); process.exit(0); }
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ type: 'ready' });
}

// ---- the producer process ------------------------------------------------------------------
async function producer() {
  let child = null;
  let add, addMany, close;
  const cleanups = [];
  const cleanup = async () => {
    if (child && child.exitCode === null) {
      child.send({ type: 'stop' });
      const exited = new Promise((r) => child.once('exit', r));
      await Promise.race([exited, sleep(10000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    child = null;
    while (cleanups.length) await cleanups.pop()().catch(() => {});
  };
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { cleanup().finally(() => process.exit(130)); });
  try {
    if (peer === 'bullmq') {
      const { Queue } = bull();
      const q = new Queue(tag, { connection, prefix: tag });
      cleanups.push(async () => { await q.obliterate({ force: true }).catch(() => {}); await q.close(); });
      const opts = { removeOnComplete: true, removeOnFail: true };
      add = (data) => q.add('noop', data, opts);
      addMany = (list) => q.addBulk(list.map((data) => ({ name: 'noop', data, opts })));
    } else if (peer === 'graphile') {
      await pgAdmin(`create database ${tag}`);
      cleanups.push(() => pgAdmin(`drop database if exists ${tag} with (force)`));
      const { Pool } = require(path.join(dir, 'gw/node_modules/pg'));
      const pgPool = new Pool({ connectionString: gwDb, max: 4 });
      pgPool.on('error', () => {});
      pgPool.on('connect', (client) => client.on('error', () => {}));
      cleanups.push(() => pgPool.end());
      await gw().runMigrations({ pgPool, logger: quietLogger() });
      const utils = await gw().makeWorkerUtils({ pgPool, logger: quietLogger() });
      cleanups.push(() => utils.release());
      add = (data) => utils.addJob('noop', data);
      addMany = (list) => utils.addJobs(list.map((payload) => ({ identifier: 'noop', payload })));
    } else {
      throw new Error(`usage: latency_peers.js bullmq|graphile (not ${peer})`);
    }
    child = fork(__filename, [peer, 'worker'], { env: { ...process.env, LAT_TAG: tag } });
    const inbox = [];
    let waiter = null;
    child.on('message', (m) => { if (waiter) { const w = waiter; waiter = null; w(m); } else inbox.push(m); });
    const next = (ms = 30000) => new Promise((resolve, reject) => {
      if (inbox.length) return resolve(inbox.shift());
      const t = setTimeout(() => { waiter = null; reject(new Error(`the ${peer} worker did not answer in ${ms} ms`)); }, ms);
      waiter = (m) => { clearTimeout(t); resolve(m); };
    });
    const ask = async (m) => { child.send(m); return next(); };
    if ((await next(60000)).type !== 'ready') throw new Error('the worker did not start');
    // waitFor PHASE N: until the worker has run N jobs of PHASE (deadline 120 s), then its figures.
    const waitFor = async (phase, n) => {
      const deadline = Date.now() + 120000;
      for (;;) {
        const { n: got } = await ask({ type: 'count', phase });
        if (got >= n) break;
        if (Date.now() > deadline) throw new Error(`${peer}: ${got} of ${n} ${phase} jobs ran in 120 s`);
        await sleep(50);
      }
      return (await ask({ type: 'get', phase })).lats;
    };
    // Warm up the connections and the worker's paths.
    for (let i = 0; i < 20; i++) await add({ t: now(), phase: 'warm' });
    await waitFor('warm', 20);
    await sleep(1000);
    // Light load: one add every 1/RATE s.
    const step = 1000 / RATE;
    const end = now() + SECONDS * 1000;
    let light = 0;
    while (now() < end) {
      const t = now();
      await add({ t, phase: 'light' });
      light++;
      await sleep(step - (now() - t));
    }
    const lightLats = await waitFor('light', light);
    await sleep(1000);
    const burstN = Math.round(10 * RATE);
    const t = now();
    await addMany(Array.from({ length: burstN }, () => ({ t, phase: 'burst' })));
    const burstLats = await waitFor('burst', burstN);
    const label = peer === 'bullmq' ? `bullmq in-process c=${PEER_C}` : `graphile-worker in-process c=${GW_C} localQueue=${GW_LQ > 1 ? GW_LQ : 'off'}`;
    for (const [phase, lats] of [[`light ${RATE}/s`, lightLats], [`burst of ${burstN}`, burstLats]]) {
      lats.sort((a, b) => a - b);
      const pick = (q) => lats[Math.min(lats.length - 1, Math.floor(q * lats.length))];
      console.log([label, 'producer ts -> processor', phase, lats.length, pick(0.5).toFixed(2), pick(0.99).toFixed(2), lats[lats.length - 1].toFixed(2)].join('\t'));
    }
    await cleanup();
    process.exit(0);
  } catch (e) {
    console.error(`latency_peers ${peer}: ${e.message}`);
    await cleanup();
    process.exit(1);
  }
}

if (role === 'worker') worker().catch((e) => { console.error(`latency_peers ${peer} worker: ${e.message}`); process.exit(1); });
else producer();
