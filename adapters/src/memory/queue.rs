//! One in-memory queue: ready tasks ordered by priority then publish order, delayed tasks ordered
//! by eta, leased tasks by receipt, and the dead letters.

use crate::{DeadLetter, Held, Payload, Peeked, QueueCounts};
use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap, VecDeque};
use stem_protocol::TaskEnvelope;

pub(super) struct Item {
    pub seq: u64,
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

#[derive(Default)]
pub(super) struct Queue {
    ready: BTreeMap<(Reverse<u8>, u64), Item>,
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

    /// Adds an item, ready now or at `visible_at` (epoch ms) when that is later than `now`.
    pub fn put(&mut self, item: Item, visible_at: i64, now: i64) {
        if visible_at > now {
            self.delayed.insert((visible_at, item.seq), item);
        } else {
            self.ready
                .insert((Reverse(item.env.priority), item.seq), item);
        }
    }

    /// Moves due delayed tasks and lapsed leases back to ready.
    pub fn promote(&mut self, now: i64) {
        while let Some(entry) = self.delayed.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let item = entry.remove();
            self.ready
                .insert((Reverse(item.env.priority), item.seq), item);
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
                self.ready
                    .insert((Reverse(item.env.priority), item.seq), item);
            }
        }
    }

    /// Takes the next ready task, highest priority then oldest.
    pub fn pop_ready(&mut self) -> Option<Item> {
        self.ready.pop_first().map(|(_, item)| item)
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
                let mut due: Vec<(Reverse<u8>, u64, &Item)> = self
                    .ready
                    .iter()
                    .map(|((p, seq), item)| (*p, *seq, item))
                    .chain(
                        self.delayed
                            .iter()
                            .take_while(|((eta, _), _)| *eta <= now)
                            .map(|(_, i)| (Reverse(i.env.priority), i.seq, i)),
                    )
                    .chain(
                        self.leased
                            .values()
                            .filter(|l| l.until <= now)
                            .map(|l| (Reverse(l.item.env.priority), l.item.seq, &l.item)),
                    )
                    .collect();
                due.sort_by_key(|(p, seq, _)| (*p, *seq));
                due.into_iter()
                    .take(limit)
                    .map(|(_, _, item)| seen(item, None, None))
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
