//! The hostile scenarios, in one place: what a writer to the stores, a skewed clock, a killed or
//! frozen worker, an outage, a task that hides processes, or a hostile web page can make Stem do.
//! Each module takes one promise and attacks it from outside, against the real binary, real
//! children and the real stores (SQLite always; Redis and Postgres when `STEM_TEST_REDIS_URL` /
//! `STEM_TEST_POSTGRES_URL` are set, skipping and saying so otherwise).
//!
//! Where a scenario iterates over a shape — every top-level field of a stored envelope or record
//! (`signing`), every key and row of a namespace (`sealing`), every store of `stores::world` —
//! a new field, payload or store is attacked by default; a new store trait or envelope field
//! that needs its own attack gets a module here.

/// Skewed clocks (libfaketime) and broker outages longer than the lease.
mod clocks;
/// Processes that leave the task's group or session: hard limit, revoke, shutdown.
mod limits;
/// No marker a task produced in clear in any key, row, file byte or log line.
mod sealing;
/// A tokenless API driven by a hostile page: cross-origin writes, rebound hosts.
mod serve;
/// What the API answers on purpose: CORS, security headers, tokens.
mod serve_answers;
/// Tampered, planted and unsigned envelopes and records.
mod signing;
/// Schedules and chord member results edited in the store.
mod stored_parts;
/// One live run per id under racing producers.
mod unique;
/// Workflow payloads (arguments, step results, events) sealed, and a journal edited in the store.
mod workflows;
