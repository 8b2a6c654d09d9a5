//! The Postgres commit: a batch of outcomes in one statement (`sql/commit.sql`), each fenced by
//! its receipt's lease token, with its record (when this database is also the result backend),
//! its action and its follow-ups. One statement is one implicit transaction: atomic, and never
//! left open by a worker frozen between round trips (which would keep its row locks and make
//! every other worker's `SKIP LOCKED` fetch skip those tasks).

use super::broker::{fair_fields, parse_receipt, row_fields};
use super::error::corrupt;
use super::{millis, PgStore};
use crate::{codec, Action, Commit, Result, Verdict};
use std::time::Duration;

/// The statement's parameters, one array per column.
#[derive(Default)]
struct Columns {
    row: Vec<i64>,
    token: Vec<String>,
    op: Vec<&'static str>,
    rec_id: Vec<Option<String>>,
    rec_state: Vec<Option<&'static str>>,
    rec_json: Vec<Option<String>>,
    rec_updated: Vec<Option<i64>>,
    rec_gen: Vec<Option<i64>>,
    rel_delay: Vec<Option<i64>>,
    rel_payload: Vec<Option<String>>,
    rel_task: Vec<Option<String>>,
    rel_queue: Vec<Option<String>>,
    rel_priority: Vec<Option<i16>>,
    dead_queue: Vec<Option<String>>,
    dead_id: Vec<Option<String>>,
    dead_json: Vec<Option<String>>,
    dead_at: Vec<Option<i64>>,
    f_n: Vec<i64>,
    f_task: Vec<String>,
    f_queue: Vec<String>,
    f_priority: Vec<i16>,
    f_eta: Vec<Option<i64>>,
    f_payload: Vec<String>,
    f_created: Vec<i64>,
    f_key: Vec<Option<String>>,
    f_step: Vec<i64>,
}

impl Columns {
    fn push(&mut self, n: i64, c: &Commit, records: bool) -> Result<()> {
        let (row, token) = parse_receipt(&c.delivery.receipt)?;
        self.row.push(row);
        self.token.push(token.to_string());
        let record = c.record.as_ref().filter(|_| records);
        self.rec_id.push(record.map(|r| r.id.clone()));
        self.rec_state.push(record.map(|r| r.state.as_str()));
        self.rec_json.push(record.map(codec::encode_record));
        self.rec_updated.push(record.map(|r| r.updated_at));
        self.rec_gen.push(record.map(|r| r.generation as i64));
        let (mut at, mut payload, mut task, mut queue, mut priority) =
            (None, None, None, None, None);
        let (mut dq, mut did, mut djson, mut dat) = (None, None, None, None);
        let op = match &c.action {
            Action::Ack => "ack",
            Action::Release { replacement, delay } => {
                at = Some(millis(*delay));
                if let Some(env) = replacement {
                    let (_, p, body) = row_fields(env);
                    payload = Some(body);
                    task = Some(env.id.clone());
                    queue = Some(env.queue.clone());
                    priority = Some(p);
                }
                "release"
            }
            Action::DeadLetter(letter) => {
                let mut letter = (**letter).clone();
                letter.queue = c.delivery.queue.clone();
                djson = Some(codec::encode_letter(&letter)?);
                dq = Some(letter.queue);
                did = Some(letter.id);
                dat = Some(letter.dead_at);
                "dead"
            }
        };
        self.op.push(op);
        self.rel_delay.push(at);
        self.rel_payload.push(payload);
        self.rel_task.push(task);
        self.rel_queue.push(queue);
        self.rel_priority.push(priority);
        self.dead_queue.push(dq);
        self.dead_id.push(did);
        self.dead_json.push(djson);
        self.dead_at.push(dat);
        for env in &c.follow_ups {
            let (eta, p, body) = row_fields(env);
            self.f_n.push(n);
            self.f_task.push(env.id.clone());
            self.f_queue.push(env.queue.clone());
            self.f_priority.push(p);
            self.f_eta.push(eta);
            self.f_payload.push(body);
            self.f_created.push(env.created_at);
            let (key, step) = fair_fields(env);
            self.f_key.push(key.map(str::to_string));
            self.f_step.push(step);
        }
        Ok(())
    }
}

impl PgStore {
    pub(super) async fn commit_batch(
        &self,
        commits: &[Commit],
        records: Option<Duration>,
    ) -> Result<Vec<Verdict>> {
        if commits.is_empty() {
            return Ok(Vec::new());
        }
        let mut cols = Columns::default();
        for (i, c) in commits.iter().enumerate() {
            cols.push(i as i64 + 1, c, records.is_some())?;
        }
        let keep = millis(records.unwrap_or_default());
        let rows = self
            .query(
                "commit",
                include_str!("sql/commit.sql"),
                &[
                    &cols.row,
                    &cols.token,
                    &cols.op,
                    &cols.rec_id,
                    &cols.rec_state,
                    &cols.rec_json,
                    &cols.rec_updated,
                    &cols.rec_gen,
                    &keep,
                    &cols.rel_delay,
                    &cols.rel_payload,
                    &cols.rel_task,
                    &cols.rel_queue,
                    &cols.rel_priority,
                    &cols.dead_queue,
                    &cols.dead_id,
                    &cols.dead_json,
                    &cols.dead_at,
                    &cols.f_n,
                    &cols.f_task,
                    &cols.f_queue,
                    &cols.f_priority,
                    &cols.f_eta,
                    &cols.f_payload,
                    &cols.f_created,
                    &cols.f_key,
                    &cols.f_step,
                ],
            )
            .await?;
        if rows.len() != commits.len() {
            return Err(corrupt(
                "commit",
                format!("{} verdicts for {} commits", rows.len(), commits.len()),
            ));
        }
        Ok(rows
            .iter()
            .map(|row| match row.get::<_, bool>("applied") {
                true => Verdict::Applied,
                false => Verdict::Stale {
                    owner: row.get("owner"),
                },
            })
            .collect())
    }
}
