//! Fair order within what a worker holds: the broker serves fairness keys round-robin, but a
//! worker leases ahead (its prefetch window), and a key arriving behind a window full of another
//! key's tasks would wait for that whole window. So a reserved delivery with a fairness key joins
//! the waiting line by the same virtual start the broker uses (`max(key's last, clock) +
//! 1,000,000 / weight`, the clock being the largest started), after every delivery without a key
//! and before keyed ones that would start later; deliveries without a key keep fetch order.

use super::dispatcher::Dispatcher;
use std::collections::HashMap;
use stem_adapters::Payload;

/// Keys tracked before those the clock has passed are dropped.
const PRUNE_AT: usize = 1024;

#[derive(Default)]
pub struct LocalFair {
    last: HashMap<String, u64>,
    clock: u64,
}

impl LocalFair {
    fn next_vt(&mut self, key: &str, weight: Option<u32>) -> u64 {
        let step = 1_000_000 / u64::from(weight.unwrap_or(1).max(1));
        let last = self.last.get(key).copied().unwrap_or(0);
        let vt = last.max(self.clock) + step;
        self.last.insert(key.to_string(), vt);
        if self.last.len() > PRUNE_AT {
            let clock = self.clock;
            self.last.retain(|_, v| *v > clock);
        }
        vt
    }
}

impl Dispatcher {
    /// Puts a newly reserved delivery in the waiting line: at the back, or, with a fairness key,
    /// at its turn among the keyed ones.
    pub(super) fn join_waiting(&mut self, receipt: String) {
        let Some(entry) = self.entries.get_mut(&receipt) else {
            return;
        };
        let Payload::Task(env) = &entry.delivery.payload else {
            self.waiting.push_back(receipt);
            return;
        };
        let Some(key) = &env.fair_key else {
            self.waiting.push_back(receipt);
            return;
        };
        let vt = self.local_fair.next_vt(key, env.fair_weight);
        self.prefetch.saw_fair_key();
        entry.fair_vt = vt;
        let vt_of = |r: &String| self.entries.get(r).map_or(0, |e| e.fair_vt);
        let mut at = self.waiting.len();
        while at > 0 && vt_of(&self.waiting[at - 1]) > vt {
            at -= 1;
        }
        self.waiting.insert(at, receipt);
    }

    /// A delivery leaves the waiting line to start: the clock moves to its virtual start.
    pub(super) fn left_waiting(&mut self, receipt: &str) {
        if let Some(vt) = self.entries.get(receipt).map(|e| e.fair_vt) {
            self.local_fair.clock = self.local_fair.clock.max(vt);
        }
    }
}
