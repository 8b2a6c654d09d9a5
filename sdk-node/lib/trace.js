// W3C trace context for tasks: the `traceparent` a producer puts in a task's headers, and the
// child's own span of each task. The supervisor hands a task the traceparent of its span for the
// attempt (`headers.traceparent`); while the task runs, `ctx.traceparent` and the TRACEPARENT
// environment variable name the span the task's own work should hang under. With
// OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) set, the SDK exports its
// span of each task there over OTLP/HTTP JSON, with Node's own http module.
'use strict';

const crypto = require('crypto');

const HEADER = 'traceparent';
let active = null; // the running task's context
let warned = false;

/** A version-00 traceparent as {traceId, parentId, flags, sampled}, or null. */
function parse(value) {
  if (typeof value !== 'string') return null;
  const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(value.trim());
  if (m === null || /^0+$/.test(m[1]) || /^0+$/.test(m[2])) return null;
  const flags = parseInt(m[3], 16);
  return { traceId: m[1], parentId: m[2], flags, sampled: (flags & 1) === 1 };
}

function format(t) {
  return `00-${t.traceId}-${t.parentId}-${t.flags.toString(16).padStart(2, '0')}`;
}

function newId(bytes) {
  for (;;) {
    const id = crypto.randomBytes(bytes).toString('hex');
    if (!/^0+$/.test(id)) return id;
  }
}

/** What a task enqueued now should carry: null when `headers` has a valid one, else the
 * running task's span or TRACEPARENT, else null (the server starts a trace). */
function producerTraceparent(headers) {
  if (headers && parse(headers[HEADER]) !== null) return null;
  if (active !== null && parse(active.traceparent) !== null) return active.traceparent;
  const env = parse(process.env.TRACEPARENT);
  return env === null ? null : format(env);
}

function endpoint() {
  if ((process.env.OTEL_TRACES_EXPORTER || 'otlp').trim() === 'none') return null;
  const url = (process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || '').trim();
  if (url) return url;
  const base = (process.env.OTEL_EXPORTER_OTLP_ENDPOINT || '').trim();
  return base ? `${base.replace(/\/+$/, '')}/v1/traces` : null;
}

function attr(key, value) {
  if (typeof value === 'number' && Number.isInteger(value)) return { key, value: { intValue: String(value) } };
  return { key, value: { stringValue: String(value) } };
}

function nowNs() {
  return (BigInt(Date.now()) * 1000000n).toString();
}

/**
 * Starts the child's span of `ctx`'s task; call end() before writing the outcome. Null when
 * the task's headers carry no traceparent: then nothing is named, set or exported
 * (`ctx.traceparent` stays null).
 */
function startSpan(ctx) {
  if (ctx.headers[HEADER] === undefined) return null;
  const parent = parse(ctx.headers[HEADER]);
  const url = parent === null ? null : endpoint();
  const spanId = url === null ? '' : newId(8);
  const start = url === null ? '' : nowNs();
  ctx.traceparent = parent === null ? null : format(url ? { ...parent, parentId: spanId } : parent);
  const saved = process.env.TRACEPARENT;
  if (ctx.traceparent !== null) process.env.TRACEPARENT = ctx.traceparent;
  active = ctx;
  return {
    /** Restores the environment and exports the span (errors reported once, to stderr). */
    async end(error) {
      active = null;
      if (ctx.traceparent !== null) {
        if (saved === undefined) delete process.env.TRACEPARENT;
        else process.env.TRACEPARENT = saved;
      }
      if (url === null || !parent.sampled) return;
      const span = {
        traceId: parent.traceId,
        spanId,
        parentSpanId: parent.parentId,
        name: `task ${ctx.taskName || ctx.name}`,
        kind: 1,
        startTimeUnixNano: start,
        endTimeUnixNano: nowNs(),
        attributes: [
          attr('stem.task.id', ctx.id),
          attr('stem.task.name', ctx.taskName || ctx.name),
          attr('stem.attempt', ctx.attempt || 1),
          attr('process.pid', process.pid),
        ],
        status: error ? { code: 2, message: String(error) } : { code: 1 },
      };
      await exportSpans(url, [span]);
    },
  };
}

/** POSTs spans as OTLP/HTTP JSON; resolves either way (telemetry never fails a task). */
function exportSpans(url, spans) {
  const service = process.env.OTEL_SERVICE_NAME || 'stem-node';
  const body = JSON.stringify({
    resourceSpans: [{
      resource: { attributes: [attr('service.name', service), attr('telemetry.sdk.language', 'nodejs')] },
      scopeSpans: [{ scope: { name: 'stem-sdk' }, spans }],
    }],
  });
  return new Promise((resolve) => {
    const fail = (err) => {
      if (!warned) {
        warned = true;
        process.stderr.write(`stem: cannot export a span to ${url} (${err.message || err})\n`);
      }
      resolve();
    };
    let req;
    try {
      const target = new URL(url);
      const client = target.protocol === 'https:' ? require('https') : require('http');
      req = client.request(target, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
        timeout: 2000,
      }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
    } catch (err) {
      return fail(err);
    }
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', fail);
    req.end(body);
  });
}

module.exports = { HEADER, parse, format, producerTraceparent, startSpan };
