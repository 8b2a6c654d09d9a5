// Enqueue in the application's own Postgres transaction with node-postgres (`pg`): the task is
// published when that transaction commits and never when it rolls back (`SCHEMA.enqueue`, see
// docs/postgres.md, "Enqueue from SQL"). Duck-typed on the client (anything with
// `query(text, values)` resolving to `{ rows }`: a pg Client or a pool's client), so the SDK
// keeps no runtime dependency.
//
//   await db.query('BEGIN');
//   await db.query('INSERT INTO orders (id) VALUES ($1)', [42]);
//   const id = await pg.enqueue(db, 'send_receipt', [42]);
//   await db.query('COMMIT');
//
// `client.enqueue(name, args, { client: db })` does the same and resolves to the usual handle.
// The schema is the namespace's (STEM_NAMESPACE, default `stem`, mapped as the worker maps it);
// pass `schema` otherwise. Options are the spec's (queue, id, priority, countdown/eta, expires,
// uniqueKey, uniqueFor, headers); the database refuses any other with SQLSTATE 22023, and the
// rejection is pg's own error, inside the caller's transaction like any failed statement.
// The SQL functions take no fairness key: fairKey / fairWeight are refused here (a TypeError,
// before anything is sent) rather than dropped; enqueue keyed tasks through the Client.
'use strict';

const { taskSpec, asSpec } = require('./spec');

/** The Postgres schema of a namespace (default STEM_NAMESPACE, else `stem`), as the worker names it. */
function schemaName(namespace) {
  const ns = namespace !== undefined && namespace !== null ? String(namespace) : process.env.STEM_NAMESPACE || 'stem';
  let schema = ns.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  if (!schema || schema.length > 63) throw new RangeError(`namespace ${JSON.stringify(ns)} cannot name a postgres schema (1 to 63 characters)`);
  if (/^[0-9]/.test(schema) || schema.startsWith('pg_')) schema = `stem_${schema}`.slice(0, 63);
  return schema;
}

function checkedSchema(schema) {
  const name = schema !== undefined && schema !== null ? schema : schemaName();
  if (typeof name !== 'string' || !/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
    throw new RangeError(`schema ${JSON.stringify(name)} is not a Stem schema name (lowercase letters, digits and _)`);
  }
  return name;
}

function checkedClient(client) {
  if (!client || typeof client.query !== 'function') {
    throw new TypeError('client must be a pg Client or a pool client (an object with query(text, values)) holding your transaction');
  }
  return client;
}

/** Spec fields `SCHEMA.enqueue` does not take, refused before sending. */
const NOT_IN_SQL = [['fair_key', 'fairKey'], ['fair_weight', 'fairWeight']];

/** `spec`, refused when it has a field the SQL enqueue does not take (dropping it would lose it unsaid). */
function sqlSpec(spec, at = 'enqueue') {
  for (const [field, camel] of NOT_IN_SQL) {
    if (spec[field] !== undefined || spec[camel] !== undefined) {
      throw new TypeError(`${at}: ${field}: enqueue from SQL takes no fairness key (SCHEMA.enqueue has no ${field} option): enqueue this task through the Client (the API or the CLI)`);
    }
  }
  return spec;
}

/** Publish a spec already built in `client`'s transaction; resolves to the task id. */
async function sendSpec(client, spec, schema) {
  sqlSpec(spec);
  const sql = `SELECT ${checkedSchema(schema)}.enqueue($1, $2::jsonb, $3::jsonb, $4::jsonb) AS id`;
  const { task, args, kwargs, ...options } = spec;
  const reply = await checkedClient(client).query(sql, [task, JSON.stringify(args || []), JSON.stringify(kwargs || {}), JSON.stringify(options)]);
  return String(reply.rows[0].id);
}

/** Publish task `name` in `client`'s current transaction; resolves to its id (for a duplicate of a live unique task, that task's id). */
async function enqueue(client, name, args = [], options = {}) {
  return sendSpec(client, taskSpec(name, args, options), options.schema);
}

/** Publish many tasks (specs or [name, args, options], at most 10,000) in one statement; resolves to their ids in order. */
async function enqueueMany(client, tasks, options = {}) {
  const sql = `SELECT to_json(${checkedSchema(options.schema)}.enqueue_many($1::jsonb)) AS ids`;
  const specs = Array.from(tasks, (t, i) => sqlSpec(asSpec(t), `enqueueMany[${i}]`));
  const reply = await checkedClient(client).query(sql, [JSON.stringify(specs)]);
  const ids = reply.rows[0].ids;
  return (typeof ids === 'string' ? JSON.parse(ids) : ids).map(String);
}

module.exports = { enqueue, enqueueMany, sendSpec, schemaName };
