// The canvas builders: every builder case of protocol/vectors/canvas.jsonl, built here with the
// Node calls keyed by the case's `build` (the Python spelling), gives exactly its `doc`; bad
// shapes are refused; submit/get/show drive `stem canvas` against a stand-in CLI.
'use strict';

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Client, TaskFailed, signature: s, chain, group, chord } = require('..');

const VECTORS = path.join(__dirname, '..', '..', 'protocol', 'vectors', 'canvas.jsonl');
const CASES = fs.readFileSync(VECTORS, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));

// The same calls as each case's `build`, in Node's spelling.
const BUILDS = {
  "signature('add', 1, 2)": () => s('add', [1, 2]),
  "signature('tsum')": () => s('tsum'),
  "signature('add', 1, 2, kwargs={'scale': 10}, queue='math', priority=5, countdown=2.5, max_retries=3, headers={'tenant': 'acme'})": () =>
    s('add', [1, 2], { kwargs: { scale: 10 }, queue: 'math', priority: 5, countdown: 2.5, maxRetries: 3, headers: { tenant: 'acme' } }),
  "signature('ping', 'pong', immutable=True)": () => s('ping', ['pong'], { immutable: true }),
  "signature('add', 1, 2).link(signature('log')).link_error(signature('alert', 'ops', immutable=True))": () =>
    s('add', [1, 2]).link(s('log')).linkError(s('alert', ['ops'], { immutable: true })),
  "chain(signature('add', 1, 2), signature('double'), signature('double'))": () => chain(s('add', [1, 2]), s('double'), s('double')),
  "signature('add', 1, 2) | signature('double')": () => s('add', [1, 2]).pipe(s('double')),
  "chain(signature('add', 1, 2), signature('ping', 'pong', immutable=True), signature('double'))": () =>
    chain([s('add', [1, 2]), s('ping', ['pong'], { immutable: true }), s('double')]),
  "group(signature('add', 1, 2), signature('add', 3, 4))": () => group(s('add', [1, 2]), s('add', [3, 4])),
  "chord([signature('add', 1, 2), signature('add', 3, 4)], signature('tsum'))": () => chord([s('add', [1, 2]), s('add', [3, 4])], s('tsum')),
  "chord([signature('add', 1, 2), signature('boom', 'x')], on_complete=signature('report'))": () => chord([s('add', [1, 2]), s('boom', ['x'])], { onComplete: s('report') }),
  "chord([signature('boom', 'x'), signature('add', 3, 4)], signature('tsum').link_error(signature('on_error')))": () =>
    chord(group(s('boom', ['x']), s('add', [3, 4])), s('tsum').linkError(s('on_error'))),
  "chain(group(signature('ident', 1), signature('ident', 2)), group(signature('tsum'), signature('tsum', 10)))": () =>
    chain(group(s('ident', [1]), s('ident', [2])), group(s('tsum'), s('tsum', [10]))),
  "signature('a') | group(signature('b'), signature('c')) | signature('d')": () => s('a').pipe(group(s('b'), s('c'))).pipe(s('d')),
  "group(chain(signature('add', 1, 2), signature('double')), signature('add', 3, 4) | signature('double'))": () =>
    group(chain(s('add', [1, 2]), s('double')), s('add', [3, 4]).pipe(s('double'))),
  "chord([signature('ident', 1), signature('ident', 2)], chain(signature('tsum'), signature('double')))": () =>
    chord([s('ident', [1]), s('ident', [2])], chain(s('tsum'), s('double'))),
  "chord([chord([signature('ident', 1), signature('ident', 2)], signature('tsum')), group(signature('ident', 3), signature('ident', 4))], signature('flatten', queue='slow'))": () =>
    chord([chord([s('ident', [1]), s('ident', [2])], s('tsum')), group(s('ident', [3]), s('ident', [4]))], s('flatten', [], { queue: 'slow' })),
};

test('every builder case gives exactly its vector document', () => {
  const cases = CASES.filter((c) => 'build' in c);
  assert.ok(cases.length >= 10);
  assert.deepEqual(new Set(cases.map((c) => c.build)), new Set(Object.keys(BUILDS)), 'a Node spelling for each case');
  for (const c of cases) {
    const built = BUILDS[c.build]();
    assert.deepEqual(built.toJSON(), c.doc, c.build);
    assert.deepEqual(JSON.parse(JSON.stringify(built)), c.doc, c.build);
  }
});

test('bad shapes are refused when built', () => {
  assert.throws(() => group([]), /empty group/);
  assert.throws(() => s(''), /names its task/);
  assert.throws(() => s('add', 1), /args is an array/);
  assert.throws(() => chord([s('a')], { task: 't' }), /body/);
  assert.throws(() => s('a').link(group(s('b'))), /link callback/);
});

const FAKE = `#!${process.execPath}
const fs = require('node:fs');
const argv = process.argv.slice(2);
const log = process.env.FAKE_STEM_LOG;
const stdin = argv[1] === 'submit' ? fs.readFileSync(0, 'utf8') : null;
fs.appendFileSync(log, JSON.stringify({ argv, stdin }) + '\\n');
const mode = process.env.FAKE_MODE;
if (argv[1] === 'submit') {
  if (mode === 'bad') { process.stderr.write('stem: chord.header[3].task: missing\\n'); process.exit(2); }
  process.stdout.write(JSON.stringify({ id: 'canvas-1', published: 2, nodes: 3 }) + '\\n');
} else {
  const n = fs.existsSync(log + '.shows') ? Number(fs.readFileSync(log + '.shows', 'utf8')) : 0;
  fs.writeFileSync(log + '.shows', String(n + 1));
  const nodes = [{ path: 'chord.header[0]', task: 'add', task_id: 'canvas-1:0', state: 'success' },
    { path: 'chord.header[1]', task: 'boom', task_id: 'canvas-1:1', state: 'pending' }];
  const view = { id: 'canvas-1', state: 'running', nodes };
  if (n >= 2 && mode === 'ok') Object.assign(view, { state: 'success', result: 10 });
  if (n >= 2 && mode === 'fail') {
    Object.assign(nodes[1], { state: 'failure', error: 'ValueError: boom' });
    Object.assign(view, { state: 'failure', failed: 'chord.header[1] (canvas-1:1)' });
  }
  process.stdout.write(JSON.stringify(view) + '\\n');
}
`;

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'stem-canvas-test-'));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));
let runs = 0;

function fake(mode) {
  const dir = fs.mkdtempSync(path.join(scratch, `run${(runs += 1)}-`));
  const bin = path.join(dir, 'stem');
  fs.writeFileSync(bin, FAKE, { mode: 0o755 });
  const log = path.join(dir, 'argv.log');
  const client = new Client({ bin, backend: 'sqlite://r.db', env: { ...process.env, FAKE_STEM_LOG: log, FAKE_MODE: mode } });
  client.calls = () => fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  return client;
}

const CHORD = chord([s('add', [1, 2]), s('boom')], s('tsum'));

test('submit sends the document on stdin and get polls show', async () => {
  const client = fake('ok');
  const handle = await CHORD.submit(client);
  assert.equal(handle.id, 'canvas-1');
  assert.equal(await handle.get({ timeout: 10, interval: 0.01 }), 10);
  const calls = client.calls();
  assert.deepEqual(calls[0].argv, ['canvas', 'submit', '-', '--json', '--backend', 'sqlite://r.db']);
  assert.deepEqual(JSON.parse(calls[0].stdin), CHORD.toJSON());
  assert.deepEqual(calls.slice(1).map((c) => c.argv.slice(0, 3)), Array(3).fill(['canvas', 'show', 'canvas-1']));
});

test('a failed canvas rejects with TaskFailed naming the member', async () => {
  const handle = await CHORD.submit(fake('fail'));
  await assert.rejects(handle.get({ timeout: 10, interval: 0.01 }), (err) => {
    assert.ok(err instanceof TaskFailed);
    assert.equal(err.failed, 'chord.header[1] (canvas-1:1)');
    assert.equal(err.node.task, 'boom');
    assert.deepEqual(err.error, { type: 'ValueError', message: 'boom' });
    return true;
  });
});

test('get times out, and a refused document names its path', async () => {
  const handle = await CHORD.submit(fake('never'));
  await assert.rejects(handle.get({ timeout: 0.3, interval: 0.01 }), /still running after 0.3s/);
  await assert.rejects(CHORD.submit(fake('bad')), /chord.header\[3\].task: missing/);
});
