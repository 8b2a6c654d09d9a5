//! Everything the in-memory store holds, guarded by its one mutex.

use super::queue::Queue;
use crate::{
    ControlReply, ControlRequest, Heartbeat, Leader, Revocation, StoredSchedule, TaskEvent,
};
use std::collections::{BTreeMap, HashMap, VecDeque};
use stem_protocol::TaskRecord;

/// How many control requests, replies and events are kept before the oldest are dropped.
pub(super) const MAX_REQUESTS: usize = 1_000;
pub(super) const MAX_REPLIES: usize = 10_000;
pub(super) const MAX_EVENTS: usize = 10_000;

#[derive(Default)]
pub(super) struct State {
    /// Flow control: unique locks, pauses, token buckets, slots.
    pub flow: super::flow::Flow,
    /// Publish order across all queues; also makes receipts unique.
    pub next_seq: u64,
    pub queues: HashMap<String, Queue>,
    /// Task records with their expiry (epoch ms).
    pub results: HashMap<String, (TaskRecord, i64)>,
    pub sets_since_prune: u32,
    pub revocations: HashMap<String, Revocation>,
    pub requests: VecDeque<ControlRequest>,
    pub replies: VecDeque<ControlReply>,
    /// Latest heartbeat per worker with its expiry (epoch ms).
    pub heartbeats: HashMap<String, (Heartbeat, i64)>,
    /// Events with their sequence number (the cursor), oldest first.
    pub events: VecDeque<(u64, TaskEvent)>,
    pub last_event: u64,
    /// Canvas groups by id.
    pub groups: HashMap<String, super::groups::Group>,
    /// The last lease generation handed out (µs, strictly increasing).
    pub last_generation: u64,
    pub schedules: BTreeMap<String, StoredSchedule>,
    /// Per-minute counters (`StatsHistory`), by minute start.
    pub history: BTreeMap<i64, BTreeMap<String, u64>>,
    /// Fire claims by (schedule id, fire time), with their expiry (epoch ms).
    pub claims: HashMap<(String, i64), i64>,
    /// The beat lock (kept after it expires, so its holder is remembered).
    pub leader: Option<Leader>,
    /// The last fencing token handed out.
    pub last_token: u64,
    /// Workflow runs, journals and waiters.
    pub workflows: super::workflow::Workflows,
}

impl State {
    pub fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    /// A lease generation greater than every earlier one: the clock in µs, or one more than the
    /// last when the clock has not moved on.
    pub fn next_generation(&mut self) -> u64 {
        self.last_generation = stem_protocol::now_us().max(self.last_generation + 1);
        self.last_generation
    }

    pub fn queue(&mut self, name: &str) -> &mut Queue {
        self.queues.entry(name.to_string()).or_default()
    }
}
