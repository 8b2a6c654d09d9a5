// Trace context: the shared traceparent vectors, what a task sees of its trace, the child's own
// span exported over OTLP/HTTP JSON to a real receiver on loopback, and producers passing the
// running task's trace on.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const http = require('http');
const path = require('path');
const { Child } = require('../fixtures/harness');
const trace = require('../lib/trace');
const { taskSpec } = require('../lib/spec');

const SUPERVISOR = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

test('every traceparent vector parses as it says', () => {
  const file = path.join(__dirname, '..', '..', 'protocol', 'vectors', 'traceparent.json');
  const { cases } = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.ok(cases.length >= 10);
  for (const c of cases) {
    const got = trace.parse(c.value);
    assert.equal(got !== null, c.valid, c.value);
    if (got !== null) {
      assert.deepEqual([got.traceId, got.parentId, got.sampled], [c.trace_id, c.parent_id, c.sampled], c.value);
    }
  }
});

function clean(extra) {
  const env = { ...process.env, ...extra };
  for (const k of ['TRACEPARENT', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']) {
    if (!(k in extra)) delete env[k];
  }
  return env;
}

test('without an endpoint the task sees the supervisor span', async () => {
  const child = new Child('behaviour-tasks.js', clean({}));
  try {
    assert.equal((await child.next()).type, 'hello');
    child.task('t-1', 'trace_context', [], { headers: { traceparent: SUPERVISOR } });
    const one = await child.next();
    assert.deepEqual(one.value, { traceparent: SUPERVISOR, env: SUPERVISOR, header: SUPERVISOR });
    child.task('t-2', 'trace_context');
    const two = await child.next();
    assert.deepEqual(two.value, { traceparent: null, env: null, header: null }, 'restored between tasks');
    child.send({ type: 'shutdown' });
    assert.equal((await child.exited()).code, 0);
  } finally {
    child.kill();
  }
});

test("the child's span is exported with the supervisor span as its parent", async () => {
  const spans = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      for (const rs of JSON.parse(body).resourceSpans) {
        for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      }
      res.end('{}');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  const child = new Child('behaviour-tasks.js', clean({ OTEL_EXPORTER_OTLP_ENDPOINT: url }));
  try {
    assert.equal((await child.next()).type, 'hello');
    child.task('t-1', 'trace_context', [], { headers: { traceparent: SUPERVISOR } });
    const got = (await child.next()).value;
    child.task('t-2', 'trace_fail', [], { headers: { traceparent: SUPERVISOR } });
    assert.equal((await child.next()).type, 'error');
    child.send({ type: 'shutdown' });
    assert.equal((await child.exited()).code, 0);
    // Exported before each outcome line was written: both are in.
    assert.deepEqual(spans.map((s) => s.name), ['task trace_context', 'task trace_fail']);
    const [ok, bad] = spans;
    assert.equal(ok.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.equal(ok.parentSpanId, '00f067aa0ba902b7');
    assert.equal(got.traceparent, `00-${ok.traceId}-${ok.spanId}-01`);
    assert.equal(got.env, got.traceparent);
    assert.equal(got.header, SUPERVISOR);
    assert.deepEqual(ok.status, { code: 1 });
    assert.equal(bad.status.code, 2);
    assert.match(bad.status.message, /deep down/);
    assert.ok(BigInt(ok.endTimeUnixNano) >= BigInt(ok.startTimeUnixNano));
  } finally {
    child.kill();
    server.close();
  }
});

test('a task spec carries TRACEPARENT unless its headers have one', () => {
  const saved = process.env.TRACEPARENT;
  try {
    delete process.env.TRACEPARENT;
    assert.equal(taskSpec('t').headers, undefined);
    process.env.TRACEPARENT = SUPERVISOR;
    assert.deepEqual(taskSpec('t').headers, { traceparent: SUPERVISOR });
    const mine = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    assert.deepEqual(taskSpec('t', [], { headers: { traceparent: mine } }).headers, { traceparent: mine });
  } finally {
    if (saved === undefined) delete process.env.TRACEPARENT;
    else process.env.TRACEPARENT = saved;
  }
});
