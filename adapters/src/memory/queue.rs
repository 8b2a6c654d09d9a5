//! One in-memory queue: ready tasks ordered by priority, then (unkeyed first) by virtual start
//! for tasks with a fairness key, then publish order; delayed tasks ordered by eta, leased tasks
//! by receipt, and the dead letters; and the fairness state (each key's last virtual start and
//! the queue's clock, see `docs/fairness.md`).

use crate::{DeadLetter, Held, Payload, Peeked, QueueCounts};
use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap, VecDeque};
use stem_protocol::TaskEnvelope;

pub(super) struct Item {
    pub seq: u64,
    /// The virtual start of a keyed task (0 without a key: before every keyed task).
    pub vt: u64,
    pub env: TaskEnvelope,
    /// Deliveries so far (0 until first fetched).
    pub deliveries: u32,
}

pub(super) struct Lease {
    pub item: Item,
    /// Epoch ms after which the next fetch may take the task over.
    pub until: i64,
    /// The consumer holding it.
    pub owner: String,
}

type ReadyKey = (Reverse<u8>, u64, u64);

fn ready_key(item: &Item) -> ReadyKey {
    (Reverse(item.env.priority), item.vt, item.seq)
}

/// One step of a key's virtual time: a million divided by its weight.
pub(super) fn fair_step(env: &TaskEnvelope) -> u64 {
    1_000_000 / u64::from(env.fair_weight.unwrap_or(1).max(1))
}

#[derive(Default)]
pub(super) struct Queue {
    ready: BTreeMap<ReadyKey, Item>,
    /// Each active key's last virtual start.
    last_vt: HashMap<String, u64>,
    /// The largest virtual start fetched so far.
    clock: u64,
    delayed: BTreeMap<(i64, u64), Item>,
    pub leased: HashMap<String, Lease>,
    pub dead: VecDeque<DeadLetter>,
}

impl Queue {
    /// Whether task `id` waits here (ready, delayed or leased).
    pub fn holds(&self, id: &str) -> bool {
        self.ready.values().any(|i| i.env.id == id)
            || self.delayed.values().any(|i| i.env.id == id)
            || self.leased.values().any(|l| l.item.env.id == id)
    }

    /// The virtual start of a newly published task with a fairness key (0 without one).
    pub fn next_vt(&mut self, env: &TaskEnvelope) -> u64 {
        let Some(key) = &env.fair_key else { return 0 };
        let last = self.last_vt.get(key).copied().unwrap_or(0);
        let vt = last.max(self.clock) + fair_step(env);
        self.last_vt.insert(key.clone(), vt);
        vt
    }

    /// Adds an item, ready now or at `visible_at` (epoch ms) when that is later than `now`.
    pub fn put(&mut self, item: Item, visible_at: i64, now: i64) {
        if visible_at > now {
            self.delayed.insert((visible_at, item.seq), item);
        } else {
            self.ready.insert(ready_key(&item), item);
        }
    }

    /// Moves due delayed tasks and lapsed leases back to ready.
    pub fn promote(&mut self, now: i64) {
        while let Some(entry) = self.delayed.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let item = entry.remove();
            self.ready.insert(ready_key(&item), item);
        }
        let lapsed: Vec<String> = self
            .leased
            .iter()
            .filter(|(_, lease)| lease.until <= now)
            .map(|(receipt, _)| receipt.clone())
            .collect();
        for receipt in lapsed {
            if let Some(lease) = self.leased.remove(&receipt) {
                let item = lease.item;
                self.ready.insert(ready_key(&item), item);
            }
        }
    }

    /// Takes the next ready task: highest priority, then unkeyed oldest first, then keyed by
    /// virtual start (which moves the clock; keys it has passed are forgotten).
    pub fn pop_ready(&mut self) -> Option<Item> {
        let (_, item) = self.ready.pop_first()?;
        if item.vt > self.clock {
            self.clock = item.vt;
            let clock = self.clock;
            self.last_vt.retain(|_, vt| *vt > clock);
        }
        Some(item)
    }

    /// When something in this queue next becomes fetchable without a publish (epoch ms).
    pub fn next_wake(&self) -> Option<i64> {
        let delayed = self.delayed.keys().next().map(|(eta, _)| *eta);
        let lease = self.leased.values().map(|l| l.until).min();
        delayed.into_iter().chain(lease).min()
    }

    /// The tasks in one state at `now`, in the order they will move (see `BrokerAdmin::peek`).
    pub fn peek(&self, state: Held, now: i64, limit: usize) -> Vec<Peeked> {
        let seen = |item: &Item, at: Option<i64>, owner: Option<&str>| Peeked {
            payload: Payload::Task(Box::new(item.env.clone())),
            at,
            owner: owner.map(String::from),
            deliveries: item.deliveries,
        };
        match state {
            Held::Waiting => {
                let mut due: Vec<(ReadyKey, &Item)> = self
                    .ready
                    .iter()
                    .map(|(k, item)| (*k, item))
                    .chain(
                        self.delayed
                            .iter()
                            .take_while(|((eta, _), _)| *eta <= now)
                            .map(|(_, i)| (ready_key(i), i)),
                    )
                    .chain(
                        self.leased
                            .values()
                            .filter(|l| l.until <= now)
                            .map(|l| (ready_key(&l.item), &l.item)),
                    )
                    .collect();
                due.sort_by_key(|(k, _)| *k);
                due.into_iter()
                    .take(limit)
                    .map(|(_, item)| seen(item, None, None))
                    .collect()
            }
            Held::Delayed => self
                .delayed
                .iter()
                .filter(|((eta, _), _)| *eta > now)
                .take(limit)
                .map(|((eta, _), item)| seen(item, Some(*eta), None))
                .collect(),
            Held::Leased => {
                let mut held: Vec<&Lease> =
                    self.leased.values().filter(|l| l.until > now).collect();
                held.sort_by_key(|l| (l.until, l.item.seq));
                held.into_iter()
                    .take(limit)
                    .map(|l| seen(&l.item, Some(l.until), Some(&l.owner)))
                    .collect()
            }
        }
    }

    pub fn counts(&self, now: i64) -> QueueCounts {
        let due = self
            .delayed
            .keys()
            .take_while(|(eta, _)| *eta <= now)
            .count();
        QueueCounts {
            ready: (self.ready.len() + due) as u64,
            delayed: (self.delayed.len() - due) as u64,
            leased: self.leased.len() as u64,
            dead: self.dead.len() as u64,
        }
    }
}
